<?php
/**
 * The WooCommerce → Backorders menu item.
 *
 * @package Backorder_Desk
 */

defined( 'ABSPATH' ) || exit;

/**
 * Clicking WooCommerce → Backorders makes a fresh signed launch link on the server and redirects
 * the merchant to Backorder Desk's admin. When the shop is not connected yet, the page explains
 * how to connect it instead.
 */
final class Backorder_Desk_Admin {

	const PAGE_SLUG  = 'backorder-desk';
	const CAPABILITY = 'manage_woocommerce';

	/**
	 * Action admin_menu: adds the submenu item under WooCommerce.
	 */
	public static function register_menu() {
		if ( ! class_exists( 'WooCommerce' ) ) {
			return;
		}
		$hook = add_submenu_page(
			'woocommerce',
			__( 'Backorders', 'backorder-desk' ),
			__( 'Backorders', 'backorder-desk' ),
			self::CAPABILITY,
			self::PAGE_SLUG,
			array( self::class, 'render_page' )
		);
		if ( $hook ) {
			// load-<page hook> runs before any output, so the redirect can still be sent.
			add_action( 'load-' . $hook, array( self::class, 'launch' ) );
		}
	}

	/**
	 * Action load-<page hook>: redirects to the app with a link made now, for this user.
	 *
	 * A link is only ever made here, on the merchant's own click, and goes straight into the
	 * Location header of a no-cache response: it is never printed into a page, so a link left in
	 * a cached admin page cannot be replayed. Nothing happens when the shop is not connected;
	 * render_page() then explains why.
	 */
	public static function launch() {
		if ( ! current_user_can( self::CAPABILITY ) ) {
			return;
		}
		$url = Backorder_Desk_Launch_Link::for_current_user();
		if ( null === $url ) {
			return;
		}

		$host = wp_parse_url( $url, PHP_URL_HOST );
		add_filter(
			'allowed_redirect_hosts',
			static function ( $hosts ) use ( $host ) {
				$hosts   = is_array( $hosts ) ? $hosts : array();
				$hosts[] = $host;
				return $hosts;
			}
		);
		nocache_headers();
		wp_safe_redirect( $url, 302, 'Backorder Desk' );
		exit;
	}

	/**
	 * The page shown when no redirect happened: how to connect the shop.
	 */
	public static function render_page() {
		if ( ! current_user_can( self::CAPABILITY ) ) {
			return;
		}
		?>
		<div class="wrap">
			<h1><?php esc_html_e( 'Backorders', 'backorder-desk' ); ?></h1>
			<div class="notice notice-warning inline">
				<p><strong><?php esc_html_e( 'This store is not connected to Backorder Desk yet.', 'backorder-desk' ); ?></strong></p>
				<p>
					<?php
					printf(
						/* translators: %s: this store's address, e.g. https://shop.example */
						esc_html__( 'To connect it, open Backorder Desk, choose to connect a WooCommerce store and enter this store\'s address: %s. Once you approve the access WooCommerce asks about, this menu item opens Backorder Desk directly.', 'backorder-desk' ),
						'<code>' . esc_html( home_url() ) . '</code>'
					);
					?>
				</p>
				<p><?php esc_html_e( 'Until then, shoppers see no ship dates: they appear once Backorder Desk has dated the items sold on backorder.', 'backorder-desk' ); ?></p>
			</div>
		</div>
		<?php
	}

	/**
	 * Filter plugin_action_links_<plugin>: a "Backorders" link on the Plugins screen.
	 *
	 * @param array $links Existing action links.
	 * @return array
	 */
	public static function plugin_action_links( $links ) {
		$links   = is_array( $links ) ? $links : array();
		$links[] = sprintf(
			'<a href="%s">%s</a>',
			esc_url( admin_url( 'admin.php?page=' . self::PAGE_SLUG ) ),
			esc_html__( 'Backorders', 'backorder-desk' )
		);
		return $links;
	}
}
