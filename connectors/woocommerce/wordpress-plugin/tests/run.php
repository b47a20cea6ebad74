<?php
/**
 * Tests of the companion plugin's output, against the stubs in bootstrap.php.
 *
 * Run: php tests/run.php [--json=FILE]
 * Prints one "ok N - name" / "not ok N - name" line per test and exits 1 when any failed.
 * --json writes the results and a few launch links (with the secrets that signed them) for
 * tests/test_wordpress_plugin.py to verify independently with Python's hmac.
 *
 * @package Backorder_Desk
 */

// phpcs:disable -- test code.

// Command line only: never runnable through a web server if the folder ships by mistake.
if ( 'cli' !== PHP_SAPI ) {
	exit( 1 );
}

require __DIR__ . '/bootstrap.php';

BD::reset( array() );
require BD_PLUGIN_DIR . '/backorder-desk.php';
$GLOBALS['bd_plugin_hooks'] = BD::$hooks; // what the plugin added on load; restored before each test

final class BD_Failure extends Exception {}

$GLOBALS['bd_tests']          = array();
$GLOBALS['bd_launch_samples'] = array();

function test( string $name, callable $body ) {
	$GLOBALS['bd_tests'][] = array( $name, $body );
}

function check( $condition, string $what ) {
	if ( true !== $condition ) {
		throw new BD_Failure( $what );
	}
}

function check_same( $expected, $actual, string $what = 'value' ) {
	if ( $expected !== $actual ) {
		throw new BD_Failure( sprintf( "%s\n  expected: %s\n  actual:   %s", $what, var_export( $expected, true ), var_export( $actual, true ) ) );
	}
}

function check_contains( string $needle, string $haystack, string $what = 'text' ) {
	if ( ! str_contains( $haystack, $needle ) ) {
		throw new BD_Failure( sprintf( "%s does not contain %s\n  actual: %s", $what, var_export( $needle, true ), var_export( $haystack, true ) ) );
	}
}

/** Runs the plugin's init hooks, as WordPress does on every request (loads the text domain). */
function boot( string $locale = 'en_US' ) {
	bd_switch_locale( $locale );
}

function eta_json( string $promise, array $extra = array() ) {
	return json_encode(
		$extra + array(
			'promise'    => $promise,
			'earliest'   => '2026-12-10',
			'likely'     => '2026-12-12',
			'latest'     => '2026-12-22',
			'label'      => 'Ships by 15 Dec 2026',
			'updated_at' => '2026-12-01T14:00:00Z',
		)
	);
}

/** Out of stock, sold anyway with notification, dated 15 December 2026 by the app. */
function backordered_product( array $props = array() ) {
	return new WC_Product(
		101,
		$props + array(
			'stock_quantity' => 0,
			'backorders'     => 'notify',
			'meta'           => array( Backorder_Desk_Eta::META_KEY => eta_json( '2026-12-15' ) ),
		)
	);
}

function cart_item( WC_Product $product, int $quantity = 1 ) {
	return array(
		'key'      => 'cart-key-1',
		'data'     => $product,
		'quantity' => $quantity,
	);
}

function connect_shop( string $app_url = 'https://app.backorderdesk.example', string $secret = 'test-launch-secret-0123456789abcdef-ABCDEF' ) {
	update_option( Backorder_Desk_Settings::APP_URL_OPTION, $app_url, false );
	update_option( Backorder_Desk_Settings::SECRET_OPTION, $secret, false );
}

function as_merchant( int $user_id = 7 ) {
	BD::$user_id = $user_id;
	BD::$caps    = array( 'manage_woocommerce', 'read' );
}

/** Clicks WooCommerce → Backorders: the menu's load hook, then (if no redirect) the page itself. */
function click_backorders_menu() {
	BD::$submenus = array();
	do_action( 'admin_menu' );
	check_same( 1, count( BD::$submenus ), 'one submenu item' );
	$hook = 'woocommerce_page_' . BD::$submenus[0]['menu_slug'];
	try {
		do_action( 'load-' . $hook );
	} catch ( BD_Redirect $redirect ) {
		return array( 'redirect' => $redirect->location, 'status' => $redirect->status, 'html' => '' );
	}
	ob_start();
	call_user_func( BD::$submenus[0]['callback'] );
	return array( 'redirect' => null, 'status' => 200, 'html' => ob_get_clean() );
}

function launch_query( string $url ) {
	parse_str( (string) parse_url( $url, PHP_URL_QUERY ), $query );
	return $query;
}

// ------------------------------------------------------------------------------------ wiring

test(
	'hooks: every callback is registered on the hook, priority and argument count WooCommerce calls it with',
	function () {
		$expected = array(
			array( 'woocommerce_get_availability_text', array( 'Backorder_Desk_Storefront', 'availability_text' ), 10, 2 ),
			array( 'woocommerce_get_item_data', array( 'Backorder_Desk_Storefront', 'cart_item_data' ), 10, 2 ),
			array( 'woocommerce_checkout_create_order_line_item', array( 'Backorder_Desk_Storefront', 'add_order_line_meta' ), 10, 4 ),
			array( 'woocommerce_order_item_get_formatted_meta_data', array( 'Backorder_Desk_Storefront', 'formatted_line_meta' ), 10, 2 ),
			array( 'admin_menu', array( 'Backorder_Desk_Admin', 'register_menu' ), 55, 1 ),
			array( 'rest_api_init', array( 'Backorder_Desk_Rest', 'register_routes' ), 10, 1 ),
			array( 'woocommerce_rest_is_request_to_rest_api', array( 'Backorder_Desk_Rest', 'allow_api_keys' ), 10, 1 ),
			array( 'init', array( 'Backorder_Desk_Plugin', 'load_textdomain' ), 10, 1 ),
			array( 'before_woocommerce_init', 'backorder_desk_declare_compatibility', 10, 1 ),
			array( 'plugin_action_links_wordpress-plugin/backorder-desk.php', array( 'Backorder_Desk_Admin', 'plugin_action_links' ), 10, 1 ),
		);
		foreach ( $expected as list( $hook, $callback, $priority, $args ) ) {
			$found = BD::$hooks[ $hook ][ $priority ] ?? array();
			check( in_array( array( $callback, $args ), $found, true ), "$hook has " . json_encode( $callback ) . " at priority $priority with $args args" );
		}
		$ours = 0;
		foreach ( BD::$hooks as $by_priority ) {
			foreach ( $by_priority as $callbacks ) {
				$ours += count( $callbacks );
			}
		}
		check_same( count( $expected ), $ours, 'no other hooks' );
	}
);

test(
	'compatibility: HPOS (custom_order_tables) and cart/checkout blocks declared for the main plugin file',
	function () {
		do_action( 'before_woocommerce_init' );
		$file = BD_PLUGIN_DIR . '/backorder-desk.php';
		check_same( array( $file, true ), BD::$features['custom_order_tables'] ?? null, 'custom_order_tables' );
		check_same( array( $file, true ), BD::$features['cart_checkout_blocks'] ?? null, 'cart_checkout_blocks' );
	}
);

test(
	'plugin header: requires WooCommerce, PHP 8.1, declares the text domain and its languages folder',
	function () {
		$header = file_get_contents( BD_PLUGIN_DIR . '/backorder-desk.php', false, null, 0, 4096 );
		foreach ( array( 'Plugin Name:          Backorder Desk', 'Requires Plugins:     woocommerce', 'Requires PHP:         8.1', 'Text Domain:          backorder-desk', 'Domain Path:          /languages' ) as $line ) {
			check_contains( $line, $header, 'plugin header' );
		}
		check_contains( 'Version: ' . BACKORDER_DESK_VERSION, preg_replace( '/ +/', ' ', $header ), 'plugin header version' );
		$readme = file_get_contents( BD_PLUGIN_DIR . '/readme.txt' );
		check_contains( 'Stable tag: ' . BACKORDER_DESK_VERSION, $readme, 'readme.txt' );
		check_contains( 'Requires PHP: 8.1', $readme, 'readme.txt' );
	}
);

// ------------------------------------------------------------------------------- product page

test(
	'product page: a backordered product with the app\'s ETA says when it ships, in the site\'s date format',
	function () {
		boot();
		$product = backordered_product();
		check_same( 'Available on backorder — ships by December 15, 2026', $product->get_availability_text() );
		check_same( '<p class="stock available-on-backorder">Available on backorder — ships by December 15, 2026</p>', wc_get_stock_html( $product ) );

		BD::$options['date_format'] = 'd/m/Y';
		check_same( 'Available on backorder — ships by 15/12/2026', $product->get_availability_text(), 'another date format' );
	}
);

test(
	'product page: without the meta, or not on backorder, WooCommerce\'s own text is untouched',
	function () {
		boot();
		check_same( 'Available on backorder', backordered_product( array( 'meta' => array() ) )->get_availability_text(), 'no meta' );
		// In stock: a leftover meta (the app deletes it when stock returns) is ignored.
		check_same( '4 in stock', backordered_product( array( 'stock_quantity' => 4 ) )->get_availability_text(), 'in stock' );
		// Sold out and not sold beyond stock.
		check_same( 'Out of stock', backordered_product( array( 'backorders' => 'no' ) )->get_availability_text(), 'out of stock' );
		// A theme calling the filter with the text alone.
		check_same( 'Available on backorder', apply_filters( 'woocommerce_get_availability_text', 'Available on backorder' ), 'no product argument' );
	}
);

test(
	'product page: past, malformed and impossible dates are never shown',
	function () {
		boot();
		$bad = array(
			'yesterday'         => eta_json( '2026-11-30' ),
			'not JSON'          => 'Ships by 15 Dec 2026',
			'empty'             => '',
			'JSON null'         => 'null',
			'JSON list'         => '["2026-12-15"]',
			'no promise'        => json_encode( array( 'likely' => '2026-12-15' ) ),
			'promise a number'  => json_encode( array( 'promise' => 20261215 ) ),
			'day first'         => eta_json( '15-12-2026' ),
			'slashes'           => eta_json( '2026/12/15' ),
			'with a time'       => eta_json( '2026-12-15T00:00:00Z' ),
			'no such month'     => eta_json( '2026-13-01' ),
			'30 February'       => eta_json( '2027-02-30' ),
			'padded'            => eta_json( ' 2026-12-15' ),
			'markup'            => eta_json( '<b>2026-12-15</b>' ),
			'year 0999'         => eta_json( '0999-12-15' ),
			'truncated JSON'    => substr( eta_json( '2026-12-15' ), 0, 20 ),
			'array, bad date'   => array( 'promise' => 'soon' ),
			'integer meta'      => 5,
		);
		foreach ( $bad as $what => $meta ) {
			$product = backordered_product( array( 'meta' => array( Backorder_Desk_Eta::META_KEY => $meta ) ) );
			check_same( 'Available on backorder', $product->get_availability_text(), $what );
			check_same( array(), apply_filters( 'woocommerce_get_item_data', array(), cart_item( $product ) ), "$what (cart)" );
		}
	}
);

test(
	'product page: today\'s date still shows; "today" is the shop\'s, not UTC\'s',
	function () {
		boot();
		check_same( 'Available on backorder — ships by December 1, 2026', backordered_product( array( 'meta' => array( Backorder_Desk_Eta::META_KEY => eta_json( '2026-12-01' ) ) ) )->get_availability_text() );

		// 23:30 on 30 November in Los Angeles is already 1 December in UTC: a 30 November promise
		// is still today for that shop.
		BD::$now      = gmmktime( 7, 30, 0, 12, 1, 2026 );
		BD::$timezone = 'America/Los_Angeles';
		check_same( 'Available on backorder — ships by November 30, 2026', backordered_product( array( 'meta' => array( Backorder_Desk_Eta::META_KEY => eta_json( '2026-11-30' ) ) ) )->get_availability_text(), 'west of UTC' );
		// And the date itself never moves a day, whatever the time zone.
		check_same( 'Available on backorder — ships by December 15, 2026', backordered_product()->get_availability_text(), 'no day shift' );
		BD::$timezone = 'Pacific/Kiritimati';
		check_same( 'Available on backorder — ships by December 15, 2026', backordered_product()->get_availability_text(), 'no day shift east' );
	}
);

test(
	'product page: a meta stored as an array (an object sent through the REST API) is read too',
	function () {
		boot();
		$product = backordered_product( array( 'meta' => array( Backorder_Desk_Eta::META_KEY => json_decode( eta_json( '2026-12-15' ), true ) ) ) );
		check_same( 'Available on backorder — ships by December 15, 2026', $product->get_availability_text() );
		$product = backordered_product( array( 'meta' => array( Backorder_Desk_Eta::META_KEY => json_decode( eta_json( '2026-12-15' ) ) ) ) );
		check_same( 'Available on backorder — ships by December 15, 2026', $product->get_availability_text(), 'stdClass' );
	}
);

test(
	'product page: a shop that does not notify about backorders gets the date without the word',
	function () {
		boot();
		$product = backordered_product( array( 'backorders' => 'yes' ) );
		check_same( 'Ships by December 15, 2026', $product->get_availability_text() );
		check_same( '<p class="stock available-on-backorder">Ships by December 15, 2026</p>', wc_get_stock_html( $product ) );
		// Stock not managed, marked "on backorder" by hand: WooCommerce says "Available on backorder".
		$unmanaged = backordered_product( array( 'manage_stock' => false, 'stock_status' => 'onbackorder' ) );
		check_same( 'Available on backorder — ships by December 15, 2026', $unmanaged->get_availability_text(), 'unmanaged stock' );
	}
);

test(
	'product page in Polish: translated text, Polish month in the genitive from wp_date()',
	function () {
		boot( 'pl_PL' );
		BD::$options['date_format'] = 'j F Y';
		check_same( 'Dostępne na zamówienie — wysyłka do 15 grudnia 2026', backordered_product()->get_availability_text() );
		check_same( 'Wysyłka do 15 grudnia 2026', backordered_product( array( 'backorders' => 'yes' ) )->get_availability_text(), 'no notification' );
		BD::$options['date_format'] = 'F Y';
		check_same( 'Dostępne na zamówienie — wysyłka do grudzień 2026', backordered_product()->get_availability_text(), 'no day, no declension' );
	}
);

test(
	'product page: the text is escaped for HTML (a date format with markup stays text)',
	function () {
		boot();
		BD::$options['date_format'] = '\<\s\c\r\i\p\t\>j F Y';
		$text = backordered_product()->get_availability_text();
		check_same( 'Available on backorder — ships by &lt;script&gt;15 December 2026', $text );
		add_filter( 'backorder_desk_date_format', fn() => 'Y-m-d' );
		check_same( 'Available on backorder — ships by 2026-12-15', backordered_product()->get_availability_text(), 'backorder_desk_date_format filter' );
	}
);

test(
	'variations: the variation JSON\'s availability_html carries each variation\'s own date, so picking another one updates it',
	function () {
		boot();
		$parent   = new WC_Product_Variable( 200, array( 'manage_stock' => false ) );
		$oak      = new WC_Product_Variation( 201, $parent, array( 'stock_quantity' => 0, 'meta' => array( Backorder_Desk_Eta::META_KEY => eta_json( '2026-12-15' ) ) ) );
		$walnut   = new WC_Product_Variation( 202, $parent, array( 'stock_quantity' => -2, 'meta' => array( Backorder_Desk_Eta::META_KEY => eta_json( '2027-01-20' ) ) ) );
		$in_stock = new WC_Product_Variation( 203, $parent, array( 'stock_quantity' => 3, 'meta' => array( Backorder_Desk_Eta::META_KEY => eta_json( '2027-01-20' ) ) ) );
		$sold_out = new WC_Product_Variation( 204, $parent, array( 'stock_quantity' => 0, 'backorders' => 'no' ) );

		check_same( '<p class="stock available-on-backorder">Available on backorder — ships by December 15, 2026</p>', $parent->get_available_variation( $oak )['availability_html'], 'oak' );
		check_same( '<p class="stock available-on-backorder">Available on backorder — ships by January 20, 2027</p>', $parent->get_available_variation( $walnut )['availability_html'], 'walnut' );
		check_same( '<p class="stock in-stock">3 in stock</p>', $parent->get_available_variation( $in_stock )['availability_html'], 'in stock' );
		check_same( '<p class="stock out-of-stock">Out of stock</p>', $parent->get_available_variation( $sold_out )['availability_html'], 'sold out' );
	}
);

test(
	'variations: one whose stock the parent manages falls back to the parent\'s ETA; one with its own stock does not',
	function () {
		boot();
		$parent                 = new WC_Product_Variable( 300, array( 'manage_stock' => true, 'stock_quantity' => 0, 'backorders' => 'notify' ) );
		BD::$post_meta[300]     = array( Backorder_Desk_Eta::META_KEY => eta_json( '2026-12-20' ) );
		$shares_parent_stock    = new WC_Product_Variation( 301, $parent, array( 'manage_stock' => 'parent' ) );
		$own_stock              = new WC_Product_Variation( 302, $parent, array( 'manage_stock' => true, 'stock_quantity' => 0 ) );
		$own_stock_with_own_eta = new WC_Product_Variation( 303, $parent, array( 'manage_stock' => 'parent', 'meta' => array( Backorder_Desk_Eta::META_KEY => eta_json( '2026-12-16' ) ) ) );
		check_same( 'Available on backorder — ships by December 20, 2026', $shares_parent_stock->get_availability_text(), 'parent-managed' );
		check_same( 'Available on backorder', $own_stock->get_availability_text(), 'own stock, no ETA' );
		check_same( 'Available on backorder — ships by December 16, 2026', $own_stock_with_own_eta->get_availability_text(), 'own meta first' );
	}
);

// --------------------------------------------------------------------------- cart and checkout

test(
	'cart: a backordered line gets an "Estimated ship date" entry, after what other plugins added',
	function () {
		boot();
		$product = backordered_product();
		$entry   = array(
			'key'     => 'Estimated ship date',
			'value'   => 'December 15, 2026',
			'display' => 'December 15, 2026',
		);
		$gift    = array(
			'key'   => 'Gift wrap',
			'value' => 'Yes',
		);
		check_same( array( $entry ), apply_filters( 'woocommerce_get_item_data', array(), cart_item( $product, 2 ) ) );
		check_same( array( $gift, $entry ), apply_filters( 'woocommerce_get_item_data', array( $gift ), cart_item( $product ) ), 'keeps other entries' );
		check_same( array( $entry ), apply_filters( 'woocommerce_get_item_data', null, cart_item( $product ) ), 'non-array input' );
		check_same( '<dl class="variation"><dt class="variation-Estimated ship date">Estimated ship date:</dt><dd>December 15, 2026</dd></dl>', wc_get_formatted_cart_item_data( cart_item( $product ) ), 'classic cart' );
		check_same( "Estimated ship date: December 15, 2026\n", wc_get_formatted_cart_item_data( cart_item( $product ), true ), 'flat (plain text)' );
	}
);

test(
	'cart: lines not on backorder, without an ETA or with a past one get nothing',
	function () {
		boot();
		check_same( array(), apply_filters( 'woocommerce_get_item_data', array(), cart_item( backordered_product( array( 'stock_quantity' => 5 ) ), 2 ) ), 'covered by stock' );
		check_same( array(), apply_filters( 'woocommerce_get_item_data', array(), cart_item( backordered_product( array( 'meta' => array() ) ) ) ), 'no meta' );
		check_same( array(), apply_filters( 'woocommerce_get_item_data', array(), cart_item( backordered_product( array( 'meta' => array( Backorder_Desk_Eta::META_KEY => eta_json( '2026-01-01' ) ) ) ) ) ), 'past' );
		check_same( array(), apply_filters( 'woocommerce_get_item_data', array(), array( 'quantity' => 1 ) ), 'no product' );
		// 2 in stock, 3 in the cart: one unit goes on backorder, so the line is dated.
		$partly = backordered_product( array( 'stock_quantity' => 2 ) );
		check_same( 1, count( apply_filters( 'woocommerce_get_item_data', array(), cart_item( $partly, 3 ) ) ), 'partly on backorder' );
		check_same( 0, count( apply_filters( 'woocommerce_get_item_data', array(), cart_item( $partly, 2 ) ) ), 'exactly the stock' );
	}
);

test(
	'cart and checkout blocks: the Store API keeps the entry (scalar values, kses-clean) for the blocks to render',
	function () {
		boot( 'pl_PL' );
		BD::$options['date_format'] = 'j F Y';
		$item_data = bd_store_api_item_data( cart_item( backordered_product() ) );
		check_same(
			array(
				array(
					'key'     => 'Przewidywana data wysyłki',
					'value'   => '15 grudnia 2026',
					'display' => '15 grudnia 2026',
				),
			),
			$item_data
		);
	}
);

// ------------------------------------------------------------------------------------- orders

test(
	'order: the line gets the visible ship date and the hidden ISO date; the email shows it once',
	function () {
		boot();
		$item = bd_create_order_line_item( cart_item( backordered_product(), 2 ) );
		check_same( 'December 15, 2026', $item->get_meta( 'Estimated ship date' ), 'visible meta' );
		check_same( '2026-12-15', $item->get_meta( '_backorder_desk_eta' ), 'hidden meta' );
		check_same( 2, $item->get_meta( 'Backordered' ), 'WooCommerce\'s own meta kept' );
		check_same(
			'<ul class="wc-item-meta"><li><strong class="wc-item-meta-label">Backordered:</strong> <p>2</p></li><li><strong class="wc-item-meta-label">Estimated ship date:</strong> <p>December 15, 2026</p></li></ul>',
			wc_display_item_meta( $item ),
			'order email item meta'
		);
		// The block checkout re-creates line items when the cart changes: still one of each.
		do_action( 'woocommerce_checkout_create_order_line_item', $item, 'cart-key-1', cart_item( backordered_product(), 2 ), new WC_Order() );
		check_same( 1, count( $item->get_meta( 'Estimated ship date', false ) ), 'unique visible meta' );
		check_same( 1, count( $item->get_meta( '_backorder_desk_eta', false ) ), 'unique hidden meta' );
	}
);

test(
	'order: lines not on backorder or without a current ETA get no meta',
	function () {
		boot();
		foreach (
			array(
				'in stock' => backordered_product( array( 'stock_quantity' => 9 ) ),
				'no meta'  => backordered_product( array( 'meta' => array() ) ),
				'past'     => backordered_product( array( 'meta' => array( Backorder_Desk_Eta::META_KEY => eta_json( '2026-11-01' ) ) ) ),
			) as $what => $product
		) {
			$item = bd_create_order_line_item( cart_item( $product ) );
			check_same( array(), array_values( array_filter( $item->meta_data, fn( $m ) => 'Backordered' !== $m->key ) ), $what );
		}
	}
);

test(
	'order in Polish: the label and date are stored in the site\'s language at checkout',
	function () {
		boot( 'pl_PL' );
		BD::$options['date_format'] = 'j F Y';
		$item = bd_create_order_line_item( cart_item( backordered_product() ) );
		check_same( '15 grudnia 2026', $item->get_meta( 'Przewidywana data wysyłki' ) );
		check_same( '2026-12-15', $item->get_meta( '_backorder_desk_eta' ) );
	}
);

test(
	'order display: a line with only the hidden ISO date still shows the date; never twice, in any known language',
	function () {
		boot();
		$only_hidden = new WC_Order_Item_Product();
		$only_hidden->add_meta_data( '_backorder_desk_eta', '2027-01-20' );
		check_same( '<ul class="wc-item-meta"><li><strong class="wc-item-meta-label">Estimated ship date:</strong> January 20, 2027</li></ul>', wc_display_item_meta( $only_hidden ), 'fallback' );

		// The app wrote it in English while the site is in Polish (or the other way round).
		boot( 'pl_PL' );
		foreach ( array( 'Estimated ship date', 'Przewidywana data wysyłki' ) as $label ) {
			$item = new WC_Order_Item_Product();
			$item->add_meta_data( $label, '20 stycznia 2027' );
			$item->add_meta_data( '_backorder_desk_eta', '2027-01-20' );
			check_same( 1, count( $item->get_formatted_meta_data() ), "one entry with $label" );
		}

		$bad = new WC_Order_Item_Product();
		$bad->add_meta_data( '_backorder_desk_eta', 'soon' );
		check_same( array(), $bad->get_formatted_meta_data(), 'malformed hidden date' );

		$shipping = new WC_Order_Item_Shipping();
		$shipping->add_meta_data( '_backorder_desk_eta', '2027-01-20' );
		check_same( array(), $shipping->get_formatted_meta_data(), 'not a product line' );
		check_same( 'x', apply_filters( 'woocommerce_order_item_get_formatted_meta_data', 'x', $only_hidden ), 'non-array input' );
	}
);

test(
	'order display: a past promise on an order stays visible (it is what the customer was told)',
	function () {
		boot();
		$item = new WC_Order_Item_Product();
		$item->add_meta_data( '_backorder_desk_eta', '2026-01-05' );
		check_contains( 'January 5, 2026', wc_display_item_meta( $item ), 'email' );
	}
);

// -------------------------------------------------------------------------------- launch link

test(
	'launch link: the menu item redirects to APP_URL/admin/launch/woocommerce signed over "store|user|ts|nonce"',
	function () {
		boot();
		connect_shop();
		as_merchant( 7 );
		$click = click_backorders_menu();
		check( is_string( $click['redirect'] ), 'a redirect happened' );
		check_same( 302, $click['status'], 'status' );
		check( str_starts_with( $click['redirect'], 'https://app.backorderdesk.example/admin/launch/woocommerce?' ), 'goes to the app: ' . $click['redirect'] );
		check_same( 1, BD::$nocache, 'sent with no-cache headers' );

		$query = launch_query( $click['redirect'] );
		check_same( array( 'store', 'user', 'ts', 'nonce', 'sig' ), array_keys( $query ), 'parameters, in order' );
		check_same( 'https://shop.example', $query['store'], 'store' );
		check_same( '7', $query['user'], 'user' );
		check( abs( (int) $query['ts'] - time() ) <= 5, 'ts is the time of the click' );
		check( 1 === preg_match( '/^[0-9a-f]{32}$/', $query['nonce'] ), 'nonce is 128 bits of hex' );
		$message = "https://shop.example|7|{$query['ts']}|{$query['nonce']}";
		check_same( hash_hmac( 'sha256', $message, 'test-launch-secret-0123456789abcdef-ABCDEF' ), $query['sig'], 'sig' );

		$GLOBALS['bd_launch_samples'][] = array(
			'url'     => $click['redirect'],
			'secret'  => 'test-launch-secret-0123456789abcdef-ABCDEF',
			'app_url' => 'https://app.backorderdesk.example',
			'store'   => 'https://shop.example',
			'user'    => 7,
		);
	}
);

test(
	'launch link: a new nonce (and so a new signature) on every click',
	function () {
		boot();
		connect_shop();
		as_merchant();
		$nonces = array();
		for ( $i = 0; $i < 5; $i++ ) {
			$nonces[] = launch_query( click_backorders_menu()['redirect'] )['nonce'];
			BD::$hooks = $GLOBALS['bd_plugin_hooks']; // drop the previous click's redirect-host filter
		}
		check_same( 5, count( array_unique( $nonces ) ), 'five different nonces' );
	}
);

test(
	'launch link: store URLs with a path and odd characters, an app under a path: encoded so the app decodes the signed value',
	function () {
		boot();
		$cases = array(
			array( 'https://sklep.example/pl/łódź', 'https://desk.example/backorders/', 'k' . str_repeat( 'x', 40 ), 12 ),
			array( 'https://shop.example/a b/c&d=e|f+g%20h', 'http://127.0.0.1:8000', str_repeat( 'Zz9!', 12 ), 1 ),
		);
		foreach ( $cases as list( $store, $app_url, $secret, $user ) ) {
			BD::$hooks    = $GLOBALS['bd_plugin_hooks'];
			BD::$home_url = $store;
			connect_shop( $app_url, $secret );
			as_merchant( $user );
			$url   = click_backorders_menu()['redirect'];
			$query = launch_query( $url );
			check_same( $store, $query['store'], 'store decodes to home_url()' );
			check( str_starts_with( $url, rtrim( $app_url, '/' ) . '/admin/launch/woocommerce?' ), "under the app's path: $url" );
			check_same( Backorder_Desk_Launch_Link::sign( $secret, $store, $user, (int) $query['ts'], $query['nonce'] ), $query['sig'], 'sig' );
			$GLOBALS['bd_launch_samples'][] = array(
				'url'     => $url,
				'secret'  => $secret,
				'app_url' => rtrim( $app_url, '/' ),
				'store'   => $store,
				'user'    => $user,
			);
		}
	}
);

test(
	'launch link: build() is deterministic and matches a fixed vector',
	function () {
		$url = Backorder_Desk_Launch_Link::build( 'https://app.example', 'secret-secret-secret-secret-secret', 'https://shop.example', 42, 1796140800, '00112233445566778899aabbccddeeff' );
		check_same(
			'https://app.example/admin/launch/woocommerce?store=https%3A%2F%2Fshop.example&user=42&ts=1796140800&nonce=00112233445566778899aabbccddeeff&sig=' . hash_hmac( 'sha256', 'https://shop.example|42|1796140800|00112233445566778899aabbccddeeff', 'secret-secret-secret-secret-secret' ),
			$url
		);
		$GLOBALS['bd_fixed_vector'] = $url;
	}
);

test(
	'not connected: the Backorders page explains how to connect, escaped, and redirects nowhere',
	function () {
		boot();
		as_merchant();
		BD::$home_url = 'https://shop.example/<script>alert(1)</script>';
		$click        = click_backorders_menu();
		check_same( null, $click['redirect'], 'no redirect' );
		check_same( array(), BD::$redirects, 'no redirect attempted' );
		check_contains( 'This store is not connected to Backorder Desk yet.', $click['html'], 'page' );
		check_contains( '<code>https://shop.example/&lt;script&gt;alert(1)&lt;/script&gt;</code>', $click['html'], 'page' );
		check( ! str_contains( $click['html'], '<script>' ), 'nothing unescaped' );

		boot( 'pl_PL' );
		check_contains( 'Ten sklep nie jest jeszcze połączony z Backorder Desk.', click_backorders_menu()['html'], 'Polish page' );
	}
);

test(
	'not connected: a bad stored URL or a short secret counts as not connected',
	function () {
		boot();
		as_merchant();
		foreach (
			array(
				array( 'http://app.example', 'test-launch-secret-0123456789abcdef-ABCDEF' ),
				array( 'https://app.example', 'short' ),
				array( '', 'test-launch-secret-0123456789abcdef-ABCDEF' ),
				array( 'https://app.example', '' ),
			) as list( $app_url, $secret )
		) {
			BD::$hooks = $GLOBALS['bd_plugin_hooks'];
			connect_shop( $app_url, $secret );
			check_same( null, click_backorders_menu()['redirect'], "no link with app_url=$app_url secret=$secret" );
		}
	}
);

test(
	'menu: under WooCommerce, for manage_woocommerce only; a user without it gets no link',
	function () {
		boot();
		connect_shop();
		do_action( 'admin_menu' );
		check_same( 'woocommerce', BD::$submenus[0]['parent_slug'], 'parent' );
		check_same( 'manage_woocommerce', BD::$submenus[0]['capability'], 'capability' );
		check_same( 'Backorders', BD::$submenus[0]['menu_title'], 'title' );

		BD::$user_id = 3;
		BD::$caps    = array( 'read' );
		BD::$hooks   = $GLOBALS['bd_plugin_hooks'];
		$click       = click_backorders_menu();
		check_same( null, $click['redirect'], 'no redirect' );
		check_same( '', $click['html'], 'no page' );

		boot( 'pl_PL' );
		BD::$submenus = array();
		do_action( 'admin_menu' );
		check_same( 'Zamówienia oczekujące', BD::$submenus[0]['menu_title'], 'Polish title' );
	}
);

test(
	'plugins screen: a Backorders action link to the page',
	function () {
		boot();
		$links = apply_filters( 'plugin_action_links_wordpress-plugin/backorder-desk.php', array( '<a href="#">Deactivate</a>' ) );
		check_same( array( '<a href="#">Deactivate</a>', '<a href="https://shop.example/wp-admin/admin.php?page=backorder-desk">Backorders</a>' ), $links );
	}
);

// -------------------------------------------------------------------------------- REST route

function settings_request( string $method, $body = null, array $query = array(), bool $form = false ) {
	$request = new WP_REST_Request( $method, '/backorder-desk/v1/settings' );
	if ( null !== $body ) {
		$form ? $request->set_body_params( $body ) : $request->set_body( json_encode( $body ) );
	}
	$request->set_query_params( $query );
	return bd_rest_dispatch( $request );
}

test(
	'REST: POST /backorder-desk/v1/settings stores app_url and launch_secret, not autoloaded, and never echoes the secret',
	function () {
		boot();
		do_action( 'rest_api_init' );
		check( isset( BD::$routes['/backorder-desk/v1/settings'] ), 'route registered' );
		as_merchant( 1 );
		$response = settings_request( 'POST', array( 'app_url' => 'https://APP.backorderdesk.example/', 'launch_secret' => 'test-launch-secret-0123456789abcdef-ABCDEF' ) );
		check( $response instanceof WP_REST_Response, 'a response, not an error: ' . json_encode( $response ) );
		check_same( array( 'connected' => true, 'app_url' => 'https://app.backorderdesk.example', 'plugin_version' => BACKORDER_DESK_VERSION ), $response->get_data() );
		check_same( 'https://app.backorderdesk.example', get_option( 'backorder_desk_app_url' ), 'app URL stored, normalized' );
		check_same( 'test-launch-secret-0123456789abcdef-ABCDEF', get_option( 'backorder_desk_launch_secret' ), 'secret stored' );
		check_same( array( 'backorder_desk_app_url' => false, 'backorder_desk_launch_secret' => false ), BD::$autoload, 'not autoloaded' );

		$form = settings_request( 'POST', array( 'app_url' => 'https://desk.example/sub', 'launch_secret' => str_repeat( 'b', 32 ) ), array(), true );
		check_same( 'https://desk.example/sub', $form->get_data()['app_url'], 'form body accepted' );

		$get = settings_request( 'GET' );
		check_same( array( 'connected' => true, 'app_url' => 'https://desk.example/sub', 'plugin_version' => BACKORDER_DESK_VERSION ), $get->get_data(), 'GET' );
		check( ! str_contains( json_encode( $get->get_data() ), 'bbbb' ), 'GET never shows the secret' );

		$deleted = settings_request( 'DELETE' );
		check_same( array( 'connected' => false, 'app_url' => null, 'plugin_version' => BACKORDER_DESK_VERSION ), $deleted->get_data(), 'DELETE' );
		check_same( array( 'date_format' => 'F j, Y' ), BD::$options, 'options removed' );
	}
);

test(
	'REST: invalid values are refused with 400 and change nothing',
	function () {
		boot();
		do_action( 'rest_api_init' );
		as_merchant( 1 );
		connect_shop( 'https://old.example', str_repeat( 'o', 40 ) );
		$good_secret = str_repeat( 's', 40 );
		$refused     = array(
			'plain http'          => array( 'app_url' => 'http://app.example', 'launch_secret' => $good_secret ),
			'javascript:'         => array( 'app_url' => 'javascript:alert(1)', 'launch_secret' => $good_secret ),
			'ftp'                 => array( 'app_url' => 'ftp://app.example', 'launch_secret' => $good_secret ),
			'query string'        => array( 'app_url' => 'https://app.example/?x=1', 'launch_secret' => $good_secret ),
			'fragment'            => array( 'app_url' => 'https://app.example/#x', 'launch_secret' => $good_secret ),
			'credentials'         => array( 'app_url' => 'https://user:pass@app.example', 'launch_secret' => $good_secret ),
			'no host'             => array( 'app_url' => 'https:///path', 'launch_secret' => $good_secret ),
			'whitespace'          => array( 'app_url' => "https://app.example/\nx", 'launch_secret' => $good_secret ),
			'not a string'        => array( 'app_url' => array( 'https://app.example' ), 'launch_secret' => $good_secret ),
			'missing url'         => array( 'launch_secret' => $good_secret ),
			'short secret'        => array( 'app_url' => 'https://app.example', 'launch_secret' => str_repeat( 's', 31 ) ),
			'secret with a space' => array( 'app_url' => 'https://app.example', 'launch_secret' => str_repeat( 's', 20 ) . ' ' . str_repeat( 's', 20 ) ),
			'secret not a string' => array( 'app_url' => 'https://app.example', 'launch_secret' => 12345678901234567890 ),
			'missing secret'      => array( 'app_url' => 'https://app.example' ),
		);
		foreach ( $refused as $what => $body ) {
			$response = settings_request( 'POST', $body );
			check( $response instanceof WP_Error, "$what refused" );
			check_same( 400, $response->get_error_data()['status'] ?? null, "$what: status" );
		}
		// The secret belongs in the body: one in the query string (access logs) is not read.
		$response = settings_request( 'POST', null, array( 'app_url' => 'https://app.example', 'launch_secret' => $good_secret ) );
		check( $response instanceof WP_Error, 'query-string values refused' );
		check_same( 'https://old.example', get_option( 'backorder_desk_app_url' ), 'unchanged' );
		check_same( str_repeat( 'o', 40 ), get_option( 'backorder_desk_launch_secret' ), 'unchanged' );
	}
);

test(
	'REST: plain http only for loopback hosts or local/development sites',
	function () {
		boot();
		do_action( 'rest_api_init' );
		as_merchant( 1 );
		foreach ( array( 'http://127.0.0.1:8000', 'http://localhost:5000/desk', 'http://[::1]:8000', 'http://app.localhost' ) as $url ) {
			$response = settings_request( 'POST', array( 'app_url' => $url, 'launch_secret' => str_repeat( 'k', 32 ) ) );
			check( $response instanceof WP_REST_Response, "$url accepted" );
		}
		BD::$environment = 'development';
		$response        = settings_request( 'POST', array( 'app_url' => 'http://desk.test', 'launch_secret' => str_repeat( 'k', 32 ) ) );
		check( $response instanceof WP_REST_Response, 'development site: any http host' );
	}
);

test(
	'REST: every method needs manage_woocommerce (401 anonymous, 403 without the capability)',
	function () {
		boot();
		do_action( 'rest_api_init' );
		connect_shop();
		foreach ( array( 'GET', 'POST', 'DELETE' ) as $method ) {
			BD::$user_id = 0;
			BD::$caps    = array();
			$response    = settings_request( $method, array( 'app_url' => 'https://evil.example', 'launch_secret' => str_repeat( 'e', 40 ) ) );
			check_same( 401, $response instanceof WP_Error ? $response->get_error_data()['status'] : null, "$method anonymous" );
			BD::$user_id = 5;
			BD::$caps    = array( 'read', 'edit_posts' );
			$response    = settings_request( $method, array( 'app_url' => 'https://evil.example', 'launch_secret' => str_repeat( 'e', 40 ) ) );
			check_same( 403, $response instanceof WP_Error ? $response->get_error_data()['status'] : null, "$method shop manager without manage_woocommerce" );
		}
		check_same( 'https://app.backorderdesk.example', get_option( 'backorder_desk_app_url' ), 'unchanged' );
	}
);

test(
	'REST: WooCommerce API keys are accepted for exactly this route, and only this one',
	function () {
		boot();
		$allowed = array(
			'/wp-json/backorder-desk/v1/settings',
			'/wp-json/backorder-desk/v1/settings/',
			'/wp-json/backorder-desk/v1/settings?_method=POST',
			'/index.php/wp-json/backorder-desk/v1/settings',
			'/?rest_route=/backorder-desk/v1/settings',
			'/index.php?rest_route=%2Fbackorder-desk%2Fv1%2Fsettings',
			'//wp-json/backorder-desk/v1/settings',
		);
		$refused = array(
			'/wp-json/wp/v2/users',
			'/wp-json/backorder-desk/v1/settings-other',
			'/wp-json/backorder-desk/v1',
			'/wp-json/backorder-desk/v1/settings/extra',
			'/backorder-desk/v1/settings',
			'/shop/wp-json/backorder-desk/v1/settings',
			'/?rest_route=/wp/v2/users&x=/backorder-desk/v1/settings',
			'/wp-json/wp/v2/posts?q=/wp-json/backorder-desk/v1/settings',
		);
		foreach ( $allowed as $uri ) {
			$_SERVER['REQUEST_URI'] = $uri;
			check_same( true, apply_filters( 'woocommerce_rest_is_request_to_rest_api', false ), $uri );
		}
		foreach ( $refused as $uri ) {
			$_SERVER['REQUEST_URI'] = $uri;
			check_same( false, apply_filters( 'woocommerce_rest_is_request_to_rest_api', false ), $uri );
		}
		$_SERVER['REQUEST_URI'] = '/wp-json/wc/v3/products';
		check_same( true, apply_filters( 'woocommerce_rest_is_request_to_rest_api', true ), 'WooCommerce\'s own yes stays yes' );
		unset( $_SERVER['REQUEST_URI'] );
		check_same( false, apply_filters( 'woocommerce_rest_is_request_to_rest_api', false ), 'no request URI' );

		// WordPress in a subdirectory.
		BD::$home_url           = 'https://example.com/shop';
		$_SERVER['REQUEST_URI'] = '/shop/wp-json/backorder-desk/v1/settings';
		check_same( true, apply_filters( 'woocommerce_rest_is_request_to_rest_api', false ), 'subdirectory install' );
		$_SERVER['REQUEST_URI'] = '/wp-json/backorder-desk/v1/settings';
		check_same( true, apply_filters( 'woocommerce_rest_is_request_to_rest_api', false ), 'subdirectory install, no prefix (WordPress routes it too)' );
	}
);

// ------------------------------------------------------------------------------ translations

/** Reads a .po or .pot file: msgid => msgstr (contexts joined with \4, as in a .mo). */
function read_po( string $path ) {
	$entries = array();
	$entry   = array();
	$field   = null;
	$flush   = function () use ( &$entries, &$entry ) {
		if ( isset( $entry['msgid'] ) && '' !== $entry['msgid'] ) {
			$key             = isset( $entry['msgctxt'] ) ? $entry['msgctxt'] . "\4" . $entry['msgid'] : $entry['msgid'];
			$entries[ $key ] = array(
				'msgstr' => $entry['msgstr'] ?? ( $entry['msgstr[0]'] ?? '' ),
				'fuzzy'  => ! empty( $entry['fuzzy'] ),
			);
		}
		$entry = array();
	};
	foreach ( file( $path, FILE_IGNORE_NEW_LINES ) as $line ) {
		if ( '' === trim( $line ) ) {
			$flush();
			$field = null;
		} elseif ( str_starts_with( $line, '#,' ) ) {
			$entry['fuzzy'] = str_contains( $line, 'fuzzy' );
		} elseif ( str_starts_with( $line, '#' ) ) {
			continue;
		} elseif ( preg_match( '/^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$/', $line, $m ) ) {
			$field           = $m[1];
			$entry[ $field ] = stripcslashes( $m[2] );
		} elseif ( null !== $field && preg_match( '/^"(.*)"$/', $line, $m ) ) {
			$entry[ $field ] .= stripcslashes( $m[1] );
		}
	}
	$flush();
	return $entries;
}

/** Every string the plugin's PHP passes to a gettext function, with the text domain it names. */
function source_strings() {
	$functions = array( '__' => 1, '_e' => 1, 'esc_html__' => 1, 'esc_html_e' => 1, 'esc_attr__' => 1, 'esc_attr_e' => 1, '_x' => 2, 'esc_html_x' => 2, 'esc_attr_x' => 2, '_n' => 3 );
	$found     = array();
	foreach ( array_merge( array( BD_PLUGIN_DIR . '/backorder-desk.php' ), glob( BD_PLUGIN_DIR . '/includes/*.php' ) ) as $file ) {
		$tokens = array_values( array_filter( token_get_all( file_get_contents( $file ) ), fn( $t ) => ! is_array( $t ) || ! in_array( $t[0], array( T_WHITESPACE, T_COMMENT, T_DOC_COMMENT ), true ) ) );
		foreach ( $tokens as $i => $token ) {
			if ( ! is_array( $token ) || T_STRING !== $token[0] || ! isset( $functions[ $token[1] ] ) || '(' !== ( $tokens[ $i + 1 ] ?? null ) ) {
				continue;
			}
			// The arguments: literal strings only, or the extraction tools would miss them.
			$args  = array();
			$depth = 0;
			for ( $j = $i + 2; $j < count( $tokens ); $j++ ) {
				$t = $tokens[ $j ];
				if ( '(' === $t ) {
					$depth++;
				} elseif ( ')' === $t && 0 === $depth-- ) {
					break;
				} elseif ( 0 === $depth && is_array( $t ) && T_CONSTANT_ENCAPSED_STRING === $t[0] ) {
					$args[] = eval( 'return ' . $t[1] . ';' );
				} elseif ( 0 === $depth && ',' !== $t ) {
					$args[] = null;
				}
			}
			$count = $functions[ $token[1] ] + 1;
			check_same( $count, count( $args ), basename( $file ) . ':' . $token[2] . ' ' . $token[1] . '() takes literal strings' );
			check( ! in_array( null, $args, true ), basename( $file ) . ':' . $token[2] . ' ' . $token[1] . '() takes literal strings' );
			check_same( 'backorder-desk', end( $args ), basename( $file ) . ':' . $token[2] . ' text domain' );
			$msgid           = 2 === $functions[ $token[1] ] ? $args[1] . "\4" . $args[0] : $args[0];
			$found[ $msgid ] = true;
		}
	}
	return array_keys( $found );
}

test(
	'translations: every string in the PHP is in the .pot, and the .pot has no others',
	function () {
		$in_source = source_strings();
		$in_pot    = array_keys( read_po( BD_PLUGIN_DIR . '/languages/backorder-desk.pot' ) );
		sort( $in_source );
		sort( $in_pot );
		check_same( $in_source, $in_pot, 'strings (regenerate with make -C connectors/woocommerce/wordpress-plugin i18n)' );
	}
);

test(
	'translations: Polish translates every string, keeps its placeholders, and the .mo WordPress loads says the same',
	function () {
		$pot = read_po( BD_PLUGIN_DIR . '/languages/backorder-desk.pot' );
		$po  = read_po( BD_PLUGIN_DIR . '/languages/backorder-desk-pl_PL.po' );
		check_same( array_keys( $pot ), array_keys( $po ), 'same entries as the .pot' );
		$placeholders = fn( $s ) => preg_match_all( '/%(\d+\$)?[sd]/', $s, $m ) ? $m[0] : array();
		foreach ( $po as $msgid => $entry ) {
			check( '' !== $entry['msgstr'] && ! $entry['fuzzy'], "translated: $msgid" );
			$expected = $placeholders( $msgid );
			$actual   = $placeholders( $entry['msgstr'] );
			sort( $expected );
			sort( $actual );
			check_same( $expected, $actual, "placeholders of $msgid" );
		}
		$mo = bd_read_mo( BD_PLUGIN_DIR . '/languages/backorder-desk-pl_PL.mo' );
		$expected = array_map( fn( $e ) => $e['msgstr'], $po );
		ksort( $expected );
		ksort( $mo );
		check_same( $expected, $mo, '.mo is the compiled .po (make i18n)' );
	}
);

test(
	'translations: the text domain is loaded on init from the plugin\'s languages folder',
	function () {
		boot( 'pl_PL' );
		check_same( BD_PLUGIN_DIR . '/languages', BD::$textdomains['backorder-desk'] ?? null, 'path' );
		check_same( 'Przewidywana data wysyłki', __( 'Estimated ship date', 'backorder-desk' ), 'loaded' );
	}
);

// ------------------------------------------------------------------------------------ safety

test(
	'no external calls: the plugin\'s PHP names no HTTP, socket or remote-file function',
	function () {
		$forbidden = '/^(wp_remote_\w+|wp_safe_remote_\w+|download_url|wp_http_validate_url|curl_\w+|file_get_contents|fopen|fsockopen|pfsockopen|stream_socket_client|stream_context_create|get_headers|gethostbyname|dns_get_record|wp_oembed_get|fetch_feed|WP_Http|Requests|WpOrg)$/i';
		foreach ( array_merge( array( BD_PLUGIN_DIR . '/backorder-desk.php', BD_PLUGIN_DIR . '/uninstall.php' ), glob( BD_PLUGIN_DIR . '/includes/*.php' ) ) as $file ) {
			foreach ( token_get_all( file_get_contents( $file ) ) as $token ) {
				if ( is_array( $token ) && in_array( $token[0], array( T_STRING, T_NAME_QUALIFIED, T_NAME_FULLY_QUALIFIED ), true ) ) {
					foreach ( explode( '\\', $token[1] ) as $name ) {
						check( 1 !== preg_match( $forbidden, $name ), basename( $file ) . ':' . $token[2] . " uses $name" );
					}
				}
			}
		}
	}
);

test(
	'uninstall: deleting the plugin removes both options',
	function () {
		connect_shop();
		define( 'WP_UNINSTALL_PLUGIN', 'wordpress-plugin/backorder-desk.php' );
		require BD_PLUGIN_DIR . '/uninstall.php';
		check_same( false, get_option( 'backorder_desk_app_url' ), 'app URL' );
		check_same( false, get_option( 'backorder_desk_launch_secret' ), 'secret' );
	}
);

// ------------------------------------------------------------------------------------ runner

$results  = array();
$failures = array();
foreach ( $GLOBALS['bd_tests'] as $number => list( $name, $body ) ) {
	BD::reset( $GLOBALS['bd_plugin_hooks'] );
	$number++;
	try {
		ob_start();
		$body();
		ob_end_clean();
		if ( BD::$http_calls ) {
			throw new BD_Failure( 'external request functions called: ' . implode( ', ', BD::$http_calls ) );
		}
		echo "ok $number - $name\n";
		$results[] = array( 'name' => $name, 'ok' => true );
	} catch ( Throwable $error ) {
		while ( ob_get_level() > 0 ) {
			ob_end_clean();
		}
		$detail = $error instanceof BD_Failure ? $error->getMessage() : get_class( $error ) . ': ' . $error->getMessage() . ' at ' . basename( $error->getFile() ) . ':' . $error->getLine();
		echo "not ok $number - $name\n  # " . str_replace( "\n", "\n  # ", $detail ) . "\n";
		$results[]  = array( 'name' => $name, 'ok' => false, 'detail' => $detail );
		$failures[] = $name;
	}
	BD::$http_calls = array();
}
echo '1..' . count( $results ) . "\n";

foreach ( array_slice( $argv, 1 ) as $arg ) {
	if ( str_starts_with( $arg, '--json=' ) ) {
		file_put_contents(
			substr( $arg, strlen( '--json=' ) ),
			json_encode(
				array(
					'php_version'    => PHP_VERSION,
					'tests'          => $results,
					'failures'       => $failures,
					'launch_samples' => $GLOBALS['bd_launch_samples'],
					'fixed_vector'   => $GLOBALS['bd_fixed_vector'] ?? null,
				),
				JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE
			)
		);
	}
}
exit( $failures ? 1 : 0 );
