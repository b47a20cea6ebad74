<?php
/**
 * Wires the plugin's pieces to WordPress and WooCommerce hooks, in one place.
 *
 * @package Backorder_Desk
 */

defined( 'ABSPATH' ) || exit;

/**
 * Every hook the plugin uses is added here, so the list below is the whole of what it changes.
 */
final class Backorder_Desk_Plugin {

	/**
	 * Adds the plugin's hooks. Nothing here runs a query or a request; the callbacks do their
	 * work only when WordPress or WooCommerce calls them.
	 */
	public static function register() {
		add_action( 'init', array( self::class, 'load_textdomain' ) );

		// Shoppers: product page (simple products and the variation JSON), cart, checkout, order.
		add_filter( 'woocommerce_get_availability_text', array( Backorder_Desk_Storefront::class, 'availability_text' ), 10, 2 );
		add_filter( 'woocommerce_get_item_data', array( Backorder_Desk_Storefront::class, 'cart_item_data' ), 10, 2 );
		add_action( 'woocommerce_checkout_create_order_line_item', array( Backorder_Desk_Storefront::class, 'add_order_line_meta' ), 10, 4 );
		add_filter( 'woocommerce_order_item_get_formatted_meta_data', array( Backorder_Desk_Storefront::class, 'formatted_line_meta' ), 10, 2 );

		// Merchants: the Backorders menu item, and the route the app's connect flow calls.
		add_action( 'admin_menu', array( Backorder_Desk_Admin::class, 'register_menu' ), 55 );
		add_filter( 'plugin_action_links_' . plugin_basename( BACKORDER_DESK_FILE ), array( Backorder_Desk_Admin::class, 'plugin_action_links' ) );
		add_action( 'rest_api_init', array( Backorder_Desk_Rest::class, 'register_routes' ) );
		// Added at load time: WooCommerce decides whether an API key may authenticate a request
		// on determine_current_user, which can run before any later hook.
		add_filter( 'woocommerce_rest_is_request_to_rest_api', array( Backorder_Desk_Rest::class, 'allow_api_keys' ) );
	}

	/**
	 * Loads the plugin's own translations (languages/backorder-desk-<locale>.mo).
	 */
	public static function load_textdomain() {
		load_plugin_textdomain( 'backorder-desk', false, dirname( plugin_basename( BACKORDER_DESK_FILE ) ) . '/languages' );
	}
}
