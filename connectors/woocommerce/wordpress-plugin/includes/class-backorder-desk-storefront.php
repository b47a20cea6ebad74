<?php
/**
 * What shoppers see: the ETA on the product page, in the cart and checkout, and on the order.
 *
 * @package Backorder_Desk
 */

defined( 'ABSPATH' ) || exit;

/**
 * WooCommerce filter callbacks. They read product meta only (no requests, no queries of their
 * own beyond what WooCommerce's meta cache already holds) and change nothing for items that are
 * not sold on backorder or have no current ETA.
 */
final class Backorder_Desk_Storefront {

	/**
	 * Labels the order line's visible ETA meta may carry: this plugin and the app write it in
	 * the language of the moment (the site's locale at checkout, the shop's language in the app),
	 * so a line may hold any of them. Used to avoid showing the date twice.
	 */
	const KNOWN_LINE_LABELS = array( 'Estimated ship date', 'Przewidywana data wysyłki' );

	/**
	 * Filter woocommerce_get_availability_text: "Available on backorder — ships by <date>".
	 *
	 * WooCommerce builds the product page's stock line from this text (single-product/stock.php,
	 * through wc_get_stock_html()), and the variation JSON's availability_html comes from the
	 * same wc_get_stock_html( $variation ), so choosing another variation shows that variation's
	 * date with WooCommerce's own script.
	 *
	 * @param string          $availability WooCommerce's text ("Available on backorder", or '' when
	 *                                      the shop does not tell shoppers about backorders).
	 * @param WC_Product|null $product      Product or variation. Some themes call the filter with
	 *                                      the text alone; those are left untouched.
	 * @return string Text for an HTML context.
	 */
	public static function availability_text( $availability, $product = null ) {
		if ( ! $product instanceof WC_Product || ! $product->is_on_backorder( 1 ) ) {
			return $availability;
		}
		$eta = Backorder_Desk_Eta::for_product( $product );
		if ( null === $eta || ! $eta->is_current() ) {
			return $availability;
		}

		$date = esc_html( $eta->formatted_promise() );
		if ( self::tells_shoppers_about_backorders( $product ) ) {
			/* translators: %s: the date the item is expected to ship, e.g. "December 15, 2026". */
			return sprintf( esc_html__( 'Available on backorder — ships by %s', 'backorder-desk' ), $date );
		}
		/* translators: %s: the date the item is expected to ship, e.g. "December 15, 2026". */
		return sprintf( esc_html__( 'Ships by %s', 'backorder-desk' ), $date );
	}

	/**
	 * Filter woocommerce_get_item_data: an "Estimated ship date" line under a backordered cart item.
	 *
	 * The classic cart, mini cart and checkout print these entries, and the Store API passes the
	 * same filter's output as the cart item's item_data (each value through wp_kses_post, non-
	 * scalar entries dropped), which the cart and checkout blocks show as "name: display".
	 *
	 * @param array $item_data Entries other plugins added.
	 * @param array $cart_item The cart item (data: the product, quantity).
	 * @return array
	 */
	public static function cart_item_data( $item_data, $cart_item ) {
		if ( ! is_array( $item_data ) ) {
			$item_data = array();
		}
		$eta = self::eta_for_line( $cart_item );
		if ( null === $eta ) {
			return $item_data;
		}

		$date        = esc_html( $eta->formatted_promise() );
		$item_data[] = array(
			'key'     => esc_html__( 'Estimated ship date', 'backorder-desk' ),
			'value'   => $date,
			'display' => $date,
		);
		return $item_data;
	}

	/**
	 * Action woocommerce_checkout_create_order_line_item: the ETA the shopper saw goes into the
	 * order line, as a visible meta (shown in order emails, My account and the order screen) and
	 * the hidden `_backorder_desk_eta` with the ISO date. The block checkout runs this action too
	 * (its OrderController creates line items through WC_Checkout::create_order_line_items()).
	 *
	 * Values are stored as plain text; WooCommerce escapes meta when it displays it.
	 *
	 * @param WC_Order_Item_Product $item          The new line item.
	 * @param string                $cart_item_key Its cart item key.
	 * @param array                 $values        The cart item (data: the product, quantity).
	 * @param WC_Order              $order         The order being created.
	 */
	public static function add_order_line_meta( $item, $cart_item_key, $values, $order = null ) {
		$eta = self::eta_for_line( $values );
		if ( null === $eta || ! is_object( $item ) || ! method_exists( $item, 'add_meta_data' ) ) {
			return;
		}
		$item->add_meta_data( __( 'Estimated ship date', 'backorder-desk' ), $eta->formatted_promise(), true );
		$item->add_meta_data( Backorder_Desk_Eta::META_KEY, $eta->promise(), true );
	}

	/**
	 * Filter woocommerce_order_item_get_formatted_meta_data: a line that has the hidden ISO date but
	 * no visible ship date meta (e.g. the app wrote only the hidden key, or the visible one was
	 * removed) still shows the date in emails, My account and the order screen. Lines that already
	 * carry a visible one, in any language the plugin or the app writes, are left as they are.
	 *
	 * @param array         $formatted_meta Display entries (objects with key, value, display_key,
	 *                                      display_value), keyed by meta id.
	 * @param WC_Order_Item $item           The order item.
	 * @return array
	 */
	public static function formatted_line_meta( $formatted_meta, $item ) {
		if ( ! is_array( $formatted_meta ) || ! $item instanceof WC_Order_Item_Product ) {
			return $formatted_meta;
		}
		$iso = $item->get_meta( Backorder_Desk_Eta::META_KEY, true );
		if ( ! is_string( $iso ) || ! Backorder_Desk_Eta::is_iso_date( $iso ) ) {
			return $formatted_meta;
		}

		$label  = __( 'Estimated ship date', 'backorder-desk' );
		$labels = array_merge( self::KNOWN_LINE_LABELS, array( $label ) );
		foreach ( $formatted_meta as $entry ) {
			if ( is_object( $entry ) && isset( $entry->key ) && in_array( $entry->key, $labels, true ) ) {
				return $formatted_meta;
			}
		}

		$date = Backorder_Desk_Eta::format_date( $iso );

		$formatted_meta['backorder_desk_eta'] = (object) array(
			'key'           => $label,
			'value'         => $date,
			'display_key'   => esc_html( $label ),
			'display_value' => esc_html( $date ),
		);
		return $formatted_meta;
	}

	/**
	 * The current ETA of a cart line when that line's quantity is (partly) on backorder.
	 *
	 * @param array $line A cart item: data (the product) and quantity.
	 * @return Backorder_Desk_Eta|null
	 */
	private static function eta_for_line( $line ) {
		if ( ! is_array( $line ) || ! isset( $line['data'] ) || ! $line['data'] instanceof WC_Product ) {
			return null;
		}
		$product  = $line['data'];
		$quantity = isset( $line['quantity'] ) && is_numeric( $line['quantity'] ) ? (float) $line['quantity'] : 1;
		if ( ! $product->is_on_backorder( $quantity ) ) {
			return null;
		}
		$eta = Backorder_Desk_Eta::for_product( $product );
		return ( null !== $eta && $eta->is_current() ) ? $eta : null;
	}

	/**
	 * Mirrors WooCommerce's own rule for saying "Available on backorder": always when it does not
	 * manage the stock, else only when the product's backorders are "allow, but notify customer".
	 * A shop that chose not to notify still gets a ship date, without the word "backorder".
	 *
	 * @param WC_Product $product Product or variation.
	 * @return bool
	 */
	private static function tells_shoppers_about_backorders( $product ) {
		return ! $product->managing_stock() || $product->backorders_require_notification();
	}
}
