<?php
/**
 * The little of WooCommerce the plugin touches, for tests/run.php.
 *
 * Products follow WooCommerce's stock rules (WC_Product::is_on_backorder(), the availability text
 * and wc_get_stock_html(), the variation JSON), order items its meta rules (add_meta_data with
 * unique replacing, protected "_" keys hidden from get_formatted_meta_data(), wc_display_item_meta()
 * as emails print it), and the cart's two readers: the classic templates and the Store API's
 * CartItemSchema::get_item_data().
 *
 * @package Backorder_Desk
 */

// phpcs:disable -- test scaffolding, not plugin code.

namespace Automattic\WooCommerce\Utilities {

	final class FeaturesUtil {
		public static function declare_compatibility( $feature_id, $plugin_file, $positive_compatibility = true ) {
			\BD::$features[ $feature_id ] = array( $plugin_file, $positive_compatibility );
			return true;
		}
	}
}

namespace {

	final class WooCommerce {}

	/**
	 * A simple product (or the base of a variation).
	 *
	 * @param array $props manage_stock (bool|'parent'), stock_quantity, backorders ('no'|'notify'|'yes'),
	 *                     stock_status (for products that do not manage stock), meta.
	 */
	class WC_Product {
		public array $meta;

		public function __construct( public int $id, public array $props = array() ) {
			$this->props += array(
				'manage_stock'   => true,
				'stock_quantity' => 0,
				'backorders'     => 'notify',
				'stock_status'   => 'instock',
				'parent_id'      => 0,
			);
			$this->meta = $this->props['meta'] ?? array();
		}

		public function get_id() {
			return $this->id;
		}

		public function get_parent_id() {
			return (int) $this->props['parent_id'];
		}

		public function get_meta( $key = '', $single = true, $context = 'view' ) {
			return $this->meta[ $key ] ?? ( $single ? '' : array() );
		}

		public function managing_stock() {
			return (bool) $this->props['manage_stock'];
		}

		public function get_stock_quantity() {
			return $this->managing_stock() ? $this->props['stock_quantity'] : null;
		}

		public function get_backorders() {
			return $this->props['backorders'];
		}

		public function backorders_allowed() {
			return in_array( $this->get_backorders(), array( 'yes', 'notify' ), true );
		}

		public function backorders_require_notification() {
			return $this->managing_stock() && 'notify' === $this->get_backorders();
		}

		public function get_stock_status() {
			if ( ! $this->managing_stock() ) {
				return $this->props['stock_status'];
			}
			if ( $this->get_stock_quantity() > 0 ) {
				return 'instock';
			}
			return $this->backorders_allowed() ? 'onbackorder' : 'outofstock';
		}

		public function is_in_stock() {
			return 'outofstock' !== $this->get_stock_status();
		}

		public function is_on_backorder( $qty_in_cart = 0 ) {
			if ( 'onbackorder' === $this->get_stock_status() ) {
				return true;
			}
			return $this->managing_stock() && $this->backorders_allowed() && ( $this->get_stock_quantity() - $qty_in_cart ) < 0;
		}

		public function get_stock_managed_by_id() {
			return $this->get_id();
		}

		/** WC_Product::get_availability_text(), filter included. */
		public function get_availability_text() {
			if ( ! $this->is_in_stock() ) {
				$availability = 'Out of stock';
			} elseif ( $this->managing_stock() && $this->is_on_backorder( 1 ) ) {
				$availability = $this->backorders_require_notification() ? 'Available on backorder' : '';
			} elseif ( ! $this->managing_stock() && $this->is_on_backorder( 1 ) ) {
				$availability = 'Available on backorder';
			} elseif ( $this->managing_stock() ) {
				$availability = $this->get_stock_quantity() . ' in stock';
			} else {
				$availability = '';
			}
			return apply_filters( 'woocommerce_get_availability_text', $availability, $this );
		}

		public function get_availability_class() {
			if ( ! $this->is_in_stock() ) {
				return 'out-of-stock';
			}
			return ( $this->managing_stock() && $this->is_on_backorder( 1 ) ) ? 'available-on-backorder' : 'in-stock';
		}

		public function get_availability() {
			return apply_filters(
				'woocommerce_get_availability',
				array(
					'availability' => $this->get_availability_text(),
					'class'        => $this->get_availability_class(),
				),
				$this
			);
		}
	}

	/** A variation; manage_stock 'parent' shares the parent's stock, as in WooCommerce. */
	class WC_Product_Variation extends WC_Product {
		public function __construct( int $id, public WC_Product_Variable $parent, array $props = array() ) {
			parent::__construct( $id, $props + array( 'parent_id' => $parent->get_id() ) );
		}

		public function managing_stock() {
			return 'parent' === $this->props['manage_stock'] ? $this->parent->managing_stock() : (bool) $this->props['manage_stock'];
		}

		public function get_stock_quantity() {
			return 'parent' === $this->props['manage_stock'] ? $this->parent->get_stock_quantity() : parent::get_stock_quantity();
		}

		public function get_backorders() {
			return 'parent' === $this->props['manage_stock'] ? $this->parent->get_backorders() : parent::get_backorders();
		}

		public function get_stock_managed_by_id() {
			return 'parent' === $this->props['manage_stock'] ? $this->parent->get_id() : $this->get_id();
		}
	}

	class WC_Product_Variable extends WC_Product {
		/** WC_Product_Variable::get_available_variation(): the JSON the variation form switches on. */
		public function get_available_variation( WC_Product_Variation $variation ) {
			return apply_filters(
				'woocommerce_available_variation',
				array(
					'availability_html'  => wc_get_stock_html( $variation ),
					'backorders_allowed' => $variation->backorders_allowed(),
					'is_in_stock'        => $variation->is_in_stock(),
					'variation_id'       => $variation->get_id(),
				),
				$this,
				$variation
			);
		}
	}

	/** wc_get_stock_html(): single-product/stock.php, which prints the text with wp_kses_post(). */
	function wc_get_stock_html( $product ) {
		$availability = $product->get_availability();
		$html         = '';
		if ( ! empty( $availability['availability'] ) ) {
			$html = '<p class="stock ' . esc_attr( $availability['class'] ) . '">' . wp_kses_post( $availability['availability'] ) . '</p>';
		}
		return apply_filters( 'woocommerce_get_stock_html', $html, $product );
	}

	/** wc_get_formatted_cart_item_data(): what the classic cart, mini cart and checkout print. */
	function wc_get_formatted_cart_item_data( $cart_item, $flat = false ) {
		$item_data = apply_filters( 'woocommerce_get_item_data', array(), $cart_item );
		$out       = '';
		foreach ( $item_data as $data ) {
			$key     = $data['key'] ?? $data['name'];
			$display = ! empty( $data['display'] ) ? $data['display'] : $data['value'];
			$out    .= $flat
				? wp_kses_post( $key ) . ': ' . wp_kses_post( $display ) . "\n"
				: '<dt class="variation-' . esc_attr( $key ) . '">' . wp_kses_post( $key ) . ':</dt><dd>' . wp_kses_post( $display ) . '</dd>';
		}
		return $flat ? $out : '<dl class="variation">' . $out . '</dl>';
	}

	/** The Store API's CartItemSchema::get_item_data(): what the cart and checkout blocks render. */
	function bd_store_api_item_data( $cart_item ) {
		$item_data = apply_filters( 'woocommerce_get_item_data', array(), $cart_item );
		$clean     = array();
		foreach ( $item_data as $data ) {
			foreach ( $data as $value ) {
				if ( ! is_scalar( $value ) ) {
					continue 2;
				}
			}
			$clean[] = array_map( 'wp_kses_post', $data );
		}
		return $clean;
	}

	class WC_Order_Item {
		public array $meta_data = array();
		private int $next_meta_id = 1;

		public function __construct( public int $quantity = 1 ) {}

		public function get_type() {
			return '';
		}

		public function get_quantity() {
			return $this->quantity;
		}

		/** WC_Data::add_meta_data(): $unique replaces every value under the key. */
		public function add_meta_data( $key, $value, $unique = false ) {
			if ( $unique ) {
				$this->delete_meta_data( $key );
			}
			$this->meta_data[] = (object) array(
				'id'    => $this->next_meta_id++,
				'key'   => $key,
				'value' => $value,
			);
		}

		public function delete_meta_data( $key ) {
			$this->meta_data = array_values( array_filter( $this->meta_data, fn( $meta ) => $meta->key !== $key ) );
		}

		public function get_meta( $key = '', $single = true, $context = 'view' ) {
			$values = array_values( array_map( fn( $meta ) => $meta->value, array_filter( $this->meta_data, fn( $meta ) => $meta->key === $key ) ) );
			return $single ? ( $values[0] ?? '' ) : $values;
		}

		/** WC_Order_Item::get_formatted_meta_data(): protected ("_") keys hidden, then the filter. */
		public function get_formatted_meta_data( $hideprefix = '_', $include_all = false ) {
			$formatted = array();
			foreach ( $this->meta_data as $meta ) {
				if ( '' === $meta->value || ( $hideprefix && str_starts_with( $meta->key, $hideprefix ) ) ) {
					continue;
				}
				$formatted[ $meta->id ] = (object) array(
					'key'           => $meta->key,
					'value'         => $meta->value,
					'display_key'   => $meta->key,
					'display_value' => '<p>' . $meta->value . '</p>',
				);
			}
			return apply_filters( 'woocommerce_order_item_get_formatted_meta_data', $formatted, $this );
		}
	}

	class WC_Order_Item_Product extends WC_Order_Item {
		public function get_type() {
			return 'line_item';
		}

		/** WC_Order_Item_Product::set_backorder_meta(), which WooCommerce runs before our hook. */
		public function set_backorder_meta( WC_Product $product ) {
			if ( $product->backorders_require_notification() && $product->is_on_backorder( $this->get_quantity() ) ) {
				$this->add_meta_data( 'Backordered', $this->get_quantity() - max( 0, $product->get_stock_quantity() ), true );
			}
		}
	}

	class WC_Order_Item_Shipping extends WC_Order_Item {
		public function get_type() {
			return 'shipping';
		}
	}

	final class WC_Order {}

	/** WC_Checkout::create_order_line_items() for one cart item (classic and block checkout). */
	function bd_create_order_line_item( array $cart_item ) {
		$item = new WC_Order_Item_Product( (int) $cart_item['quantity'] );
		$item->set_backorder_meta( $cart_item['data'] );
		do_action( 'woocommerce_checkout_create_order_line_item', $item, 'cart-key-1', $cart_item, new WC_Order() );
		return $item;
	}

	/** wc_display_item_meta() as the order emails call it (HTML; plain text strips the tags). */
	function wc_display_item_meta( $item ) {
		$strings = array();
		foreach ( $item->get_formatted_meta_data() as $meta ) {
			$strings[] = '<strong class="wc-item-meta-label">' . wp_kses_post( $meta->display_key ) . ':</strong> ' . wp_kses_post( $meta->display_value );
		}
		return $strings ? '<ul class="wc-item-meta"><li>' . implode( '</li><li>', $strings ) . '</li></ul>' : '';
	}
}
