<?php
/**
 * Plugin Name:          Backorder Desk
 * Description:          Shows Backorder Desk's estimated ship dates for items sold on backorder on the product page, in the cart and checkout and in order emails, and opens Backorder Desk from the WooCommerce menu.
 * Version:              0.1.0
 * Requires at least:    6.5
 * Requires PHP:         8.1
 * Requires Plugins:     woocommerce
 * Author:               Backorder Desk
 * License:              GPL-2.0-or-later
 * License URI:          https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:          backorder-desk
 * Domain Path:          /languages
 * WC requires at least: 8.2
 *
 * @package Backorder_Desk
 */

defined( 'ABSPATH' ) || exit;

define( 'BACKORDER_DESK_VERSION', '0.1.0' );
define( 'BACKORDER_DESK_FILE', __FILE__ );

require_once __DIR__ . '/includes/class-backorder-desk-eta.php';
require_once __DIR__ . '/includes/class-backorder-desk-settings.php';
require_once __DIR__ . '/includes/class-backorder-desk-launch-link.php';
require_once __DIR__ . '/includes/class-backorder-desk-storefront.php';
require_once __DIR__ . '/includes/class-backorder-desk-admin.php';
require_once __DIR__ . '/includes/class-backorder-desk-rest.php';
require_once __DIR__ . '/includes/class-backorder-desk-plugin.php';

/**
 * Tells WooCommerce which of its optional features this plugin works with.
 *
 * The plugin never reads or writes order storage directly (only through WC_Order_Item_Product's
 * meta API), so it is indifferent to where orders live (HPOS). Cart and checkout blocks get the
 * ETA through the same woocommerce_get_item_data filter the Store API applies, and the block
 * checkout creates line items through WC_Checkout::create_order_line_items(), so the line meta
 * hook runs there too.
 *
 * Needs this file's path, so it lives here rather than in a class.
 */
function backorder_desk_declare_compatibility() {
	if ( class_exists( \Automattic\WooCommerce\Utilities\FeaturesUtil::class ) ) {
		\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', __FILE__, true );
		\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'cart_checkout_blocks', __FILE__, true );
	}
}
add_action( 'before_woocommerce_init', 'backorder_desk_declare_compatibility' );

Backorder_Desk_Plugin::register();
