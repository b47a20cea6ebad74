<?php
/**
 * The little of WordPress the plugin touches, stubbed for tests/run.php (WooCommerce's part is in
 * woocommerce-stubs.php).
 *
 * Each stub does what the real function does for the inputs the plugin gives it, no more: hooks
 * with priorities and accepted-argument counts, options with autoload, translations read from the
 * compiled .mo WordPress would load, wp_date() with localized (and, in Polish, declined) month
 * names, escaping, redirects checked against allowed_redirect_hosts, the REST request and error
 * objects. Every function that would reach the network fails the test that calls it.
 *
 * @package Backorder_Desk
 */

// phpcs:disable -- test scaffolding, not plugin code.

// Command line only: never runnable through a web server if the folder ships by mistake.
if ( 'cli' !== PHP_SAPI ) {
	exit( 1 );
}

define( 'ABSPATH', '/var/www/html/' );
define( 'BD_PLUGIN_DIR', dirname( __DIR__ ) );
// The plugin's folder sits directly in the plugins directory, as it does once installed.
define( 'WP_PLUGIN_DIR', dirname( BD_PLUGIN_DIR ) );

/** Thrown by wp_safe_redirect(), where WordPress would send the header and the plugin exit. */
final class BD_Redirect extends Exception {
	public function __construct( public string $location, public int $status ) {
		parent::__construct( "redirect to $location" );
	}
}

/** Thrown by every stub that would make a request over the network. */
final class BD_Forbidden_Call extends Exception {}

/** Mutable state of the fake WordPress. */
final class BD {
	public static array $hooks        = array();
	public static array $options      = array();
	public static array $autoload     = array();
	public static array $post_meta    = array();
	public static string $locale      = 'en_US';
	public static array $translations = array();
	public static array $textdomains  = array();
	public static int $now            = 0;
	public static string $timezone    = 'UTC';
	public static string $home_url    = 'https://shop.example';
	public static int $user_id        = 0;
	public static array $caps         = array();
	public static string $environment = 'production';
	public static array $http_calls   = array();
	public static array $redirects    = array();
	public static array $submenus     = array();
	public static array $routes       = array();
	public static array $features     = array();
	public static int $nocache        = 0;

	/** Everything back to a fresh site, except the hooks given (the plugin's own). */
	public static function reset( array $hooks ) {
		self::$hooks        = $hooks;
		self::$options      = array( 'date_format' => 'F j, Y' );
		self::$autoload     = array();
		self::$post_meta    = array();
		self::$locale       = 'en_US';
		self::$translations = array();
		self::$textdomains  = array();
		self::$now          = gmmktime( 14, 0, 0, 12, 1, 2026 ); // 1 December 2026, 14:00 UTC
		self::$timezone     = 'UTC';
		self::$home_url     = 'https://shop.example';
		self::$user_id      = 0;
		self::$caps         = array();
		self::$environment  = 'production';
		self::$redirects    = array();
		self::$submenus     = array();
		self::$routes       = array();
		self::$features     = array();
		self::$nocache      = 0;
		unset( $_SERVER['REQUEST_URI'] );
	}
}

// ---------------------------------------------------------------- hooks

function add_filter( $hook, $callback, $priority = 10, $accepted_args = 1 ) {
	BD::$hooks[ $hook ][ $priority ][] = array( $callback, $accepted_args );
	return true;
}

function add_action( $hook, $callback, $priority = 10, $accepted_args = 1 ) {
	return add_filter( $hook, $callback, $priority, $accepted_args );
}

function has_filter( $hook, $callback = false ) {
	if ( false === $callback ) {
		return ! empty( BD::$hooks[ $hook ] );
	}
	foreach ( BD::$hooks[ $hook ] ?? array() as $priority => $callbacks ) {
		foreach ( $callbacks as $entry ) {
			if ( $entry[0] === $callback ) {
				return $priority;
			}
		}
	}
	return false;
}

function has_action( $hook, $callback = false ) {
	return has_filter( $hook, $callback );
}

function apply_filters( $hook, $value, ...$args ) {
	$by_priority = BD::$hooks[ $hook ] ?? array();
	ksort( $by_priority );
	foreach ( $by_priority as $callbacks ) {
		foreach ( $callbacks as list( $callback, $accepted ) ) {
			$value = call_user_func_array( $callback, array_slice( array_merge( array( $value ), $args ), 0, $accepted ) );
		}
	}
	return $value;
}

function do_action( $hook, ...$args ) {
	$by_priority = BD::$hooks[ $hook ] ?? array();
	ksort( $by_priority );
	foreach ( $by_priority as $callbacks ) {
		foreach ( $callbacks as list( $callback, $accepted ) ) {
			call_user_func_array( $callback, array_slice( $args, 0, $accepted ) );
		}
	}
}

// ---------------------------------------------------------------- i18n

/** Reads a compiled gettext catalogue the way WordPress's MO class does. */
function bd_read_mo( string $path ) {
	$data = file_get_contents( $path );
	if ( false === $data || strlen( $data ) < 28 ) {
		throw new RuntimeException( "unreadable .mo: $path" );
	}
	$magic = unpack( 'V', substr( $data, 0, 4 ) )[1];
	if ( 0x950412de === $magic ) {
		$word = 'V';
	} elseif ( 0xde120495 === $magic ) {
		$word = 'N';
	} else {
		throw new RuntimeException( "not a .mo file: $path" );
	}
	$header   = unpack( "{$word}revision/{$word}count/{$word}originals/{$word}translations", substr( $data, 4, 16 ) );
	$messages = array();
	for ( $i = 0; $i < $header['count']; $i++ ) {
		$original    = unpack( "{$word}length/{$word}offset", substr( $data, $header['originals'] + 8 * $i, 8 ) );
		$translation = unpack( "{$word}length/{$word}offset", substr( $data, $header['translations'] + 8 * $i, 8 ) );
		$msgid       = substr( $data, $original['offset'], $original['length'] );
		if ( '' !== $msgid ) {
			$messages[ $msgid ] = substr( $data, $translation['offset'], $translation['length'] );
		}
	}
	return $messages;
}

function load_plugin_textdomain( $domain, $deprecated = false, $plugin_rel_path = false ) {
	$path                        = WP_PLUGIN_DIR . '/' . trim( (string) $plugin_rel_path, '/' );
	BD::$textdomains[ $domain ] = $path;
	$mofile                      = $path . '/' . $domain . '-' . determine_locale() . '.mo';
	if ( is_readable( $mofile ) ) {
		BD::$translations[ $domain ] = bd_read_mo( $mofile );
		return true;
	}
	unset( BD::$translations[ $domain ] );
	return false;
}

function determine_locale() {
	return BD::$locale;
}

function get_locale() {
	return BD::$locale;
}

/** Like switch_to_locale(): change the locale and reload the text domains. */
function bd_switch_locale( string $locale ) {
	BD::$locale       = $locale;
	BD::$translations = array();
	do_action( 'init' );
}

function translate( $text, $domain = 'default' ) {
	return BD::$translations[ $domain ][ $text ] ?? $text;
}

function __( $text, $domain = 'default' ) {
	return translate( $text, $domain );
}

function _x( $text, $context, $domain = 'default' ) {
	return BD::$translations[ $domain ][ $context . "\4" . $text ] ?? $text;
}

function esc_html__( $text, $domain = 'default' ) {
	return esc_html( translate( $text, $domain ) );
}

function esc_attr__( $text, $domain = 'default' ) {
	return esc_attr( translate( $text, $domain ) );
}

function esc_html_e( $text, $domain = 'default' ) {
	echo esc_html__( $text, $domain );
}

function _e( $text, $domain = 'default' ) {
	echo translate( $text, $domain );
}

// ---------------------------------------------------------------- dates

/** What WP_Locale holds for the two locales the tests use. */
function bd_month_names( string $locale ) {
	$names = array(
		'en_US' => array(
			'full'     => array( 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December' ),
			'abbrev'   => array( 'Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec' ),
			'genitive' => null,
		),
		'pl_PL' => array(
			'full'     => array( 'styczeń', 'luty', 'marzec', 'kwiecień', 'maj', 'czerwiec', 'lipiec', 'sierpień', 'wrzesień', 'październik', 'listopad', 'grudzień' ),
			'abbrev'   => array( 'sty', 'lut', 'mar', 'kwi', 'maj', 'cze', 'lip', 'sie', 'wrz', 'paź', 'lis', 'gru' ),
			// wp_maybe_decline_date(): Polish declines "j F" into the genitive.
			'genitive' => array( 'stycznia', 'lutego', 'marca', 'kwietnia', 'maja', 'czerwca', 'lipca', 'sierpnia', 'września', 'października', 'listopada', 'grudnia' ),
		),
	);
	return $names[ $locale ] ?? $names['en_US'];
}

function wp_timezone() {
	return new DateTimeZone( BD::$timezone );
}

/** wp_date(): PHP date format, month names from the locale, Polish declension after a day. */
function wp_date( $format, $timestamp = null, $timezone = null ) {
	$timestamp = null === $timestamp ? BD::$now : $timestamp;
	if ( ! is_numeric( $timestamp ) ) {
		return false;
	}
	$timezone = $timezone instanceof DateTimeZone ? $timezone : wp_timezone();
	$datetime = ( new DateTimeImmutable( '@' . (int) $timestamp ) )->setTimezone( $timezone );
	$names    = bd_month_names( determine_locale() );
	$month    = (int) $datetime->format( 'n' ) - 1;
	$out      = '';
	$length   = strlen( $format );
	for ( $i = 0; $i < $length; $i++ ) {
		$char = $format[ $i ];
		if ( '\\' === $char && $i + 1 < $length ) {
			$out .= $format[ ++$i ];
		} elseif ( 'F' === $char ) {
			$out .= $names['full'][ $month ];
		} elseif ( 'M' === $char ) {
			$out .= $names['abbrev'][ $month ];
		} else {
			$out .= $datetime->format( $char );
		}
	}
	if ( $names['genitive'] && preg_match( '#[dj]\.? F#', $format ) ) {
		$out = str_replace( $names['full'], $names['genitive'], $out );
	}
	return $out;
}

// ---------------------------------------------------------------- escaping

function esc_html( $text ) {
	return htmlspecialchars( (string) $text, ENT_QUOTES, 'UTF-8', false );
}

function esc_attr( $text ) {
	return esc_html( $text );
}

function esc_url( $url ) {
	$url = (string) $url;
	if ( '' === $url || ! preg_match( '#^(https?://|/|admin\.php)#i', $url ) ) {
		return '';
	}
	return htmlspecialchars( $url, ENT_QUOTES, 'UTF-8', false );
}

function wp_kses_post( $html ) {
	return strip_tags( (string) $html, '<a><b><strong><em><i><br><p><span><code><small><time>' );
}

// ---------------------------------------------------------------- options, meta, site

function get_option( $name, $default_value = false ) {
	return array_key_exists( $name, BD::$options ) ? BD::$options[ $name ] : $default_value;
}

function update_option( $name, $value, $autoload = null ) {
	BD::$options[ $name ]  = $value;
	BD::$autoload[ $name ] = $autoload;
	return true;
}

function delete_option( $name ) {
	$existed = array_key_exists( $name, BD::$options );
	unset( BD::$options[ $name ], BD::$autoload[ $name ] );
	return $existed;
}

function get_post_meta( $post_id, $key = '', $single = false ) {
	$value = BD::$post_meta[ (int) $post_id ][ $key ] ?? null;
	if ( null === $value ) {
		return $single ? '' : array();
	}
	return $single ? $value : array( $value );
}

function home_url( $path = '' ) {
	return BD::$home_url . ( '' === $path ? '' : '/' . ltrim( $path, '/' ) );
}

function admin_url( $path = '' ) {
	return 'https://shop.example/wp-admin/' . ltrim( $path, '/' );
}

function wp_get_environment_type() {
	return BD::$environment;
}

function plugin_basename( $file ) {
	$prefix = rtrim( WP_PLUGIN_DIR, '/' ) . '/';
	return str_starts_with( $file, $prefix ) ? substr( $file, strlen( $prefix ) ) : basename( $file );
}

function get_current_user_id() {
	return BD::$user_id;
}

function is_user_logged_in() {
	return BD::$user_id > 0;
}

function current_user_can( $capability ) {
	return in_array( $capability, BD::$caps, true );
}

function wp_parse_url( $url, $component = -1 ) {
	return parse_url( $url, $component );
}

function untrailingslashit( $value ) {
	return rtrim( $value, '/\\' );
}

function trailingslashit( $value ) {
	return untrailingslashit( $value ) . '/';
}

function wp_unslash( $value ) {
	return is_string( $value ) ? stripslashes( $value ) : $value;
}

function absint( $value ) {
	return abs( (int) $value );
}

function is_wp_error( $thing ) {
	return $thing instanceof WP_Error;
}

function wp_json_encode( $data, $flags = 0, $depth = 512 ) {
	return json_encode( $data, $flags, $depth );
}

// ---------------------------------------------------------------- admin

function add_submenu_page( $parent_slug, $page_title, $menu_title, $capability, $menu_slug, $callback = '' ) {
	BD::$submenus[] = compact( 'parent_slug', 'page_title', 'menu_title', 'capability', 'menu_slug', 'callback' );
	return 'woocommerce_page_' . $menu_slug;
}

function nocache_headers() {
	BD::$nocache++;
}

/** wp_safe_redirect(): only to this site or an allowed host, else to the admin. */
function wp_safe_redirect( $location, $status = 302, $x_redirect_by = 'WordPress' ) {
	$host    = strtolower( (string) parse_url( $location, PHP_URL_HOST ) );
	$allowed = array_map( 'strtolower', (array) apply_filters( 'allowed_redirect_hosts', array( parse_url( home_url(), PHP_URL_HOST ) ), $host ) );
	if ( '' === $host || ! in_array( $host, $allowed, true ) ) {
		$location = admin_url();
	}
	BD::$redirects[] = $location;
	throw new BD_Redirect( $location, $status );
}

function wp_redirect( $location, $status = 302, $x_redirect_by = 'WordPress' ) {
	throw new LogicException( 'the plugin redirects with wp_safe_redirect() only' );
}

// ---------------------------------------------------------------- REST

final class WP_Error {
	public function __construct( public $code = '', public $message = '', public $data = '' ) {}

	public function get_error_code() {
		return $this->code;
	}

	public function get_error_message() {
		return $this->message;
	}

	public function get_error_data() {
		return $this->data;
	}
}

final class WP_REST_Server {
	const READABLE  = 'GET';
	const CREATABLE = 'POST';
	const DELETABLE = 'DELETE';
}

final class WP_REST_Response {
	public function __construct( public $data = null, public int $status = 200 ) {}

	public function get_data() {
		return $this->data;
	}
}

/** A request as WP_REST_Server hands it to a callback: JSON, form body and query kept apart. */
final class WP_REST_Request {
	private array $query = array();
	private array $form  = array();
	private string $body = '';

	public function __construct( private string $method = 'GET', private string $route = '' ) {}

	public function set_query_params( array $params ) {
		$this->query = $params;
	}

	public function set_body_params( array $params ) {
		$this->form = $params;
	}

	public function set_body( string $body ) {
		$this->body = $body;
	}

	public function get_method() {
		return $this->method;
	}

	public function get_route() {
		return $this->route;
	}

	public function get_json_params() {
		if ( '' === $this->body ) {
			return null;
		}
		return json_decode( $this->body, true );
	}

	public function get_body_params() {
		return $this->form;
	}

	public function get_query_params() {
		return $this->query;
	}

	public function get_param( $key ) {
		foreach ( array( (array) $this->get_json_params(), $this->form, $this->query ) as $source ) {
			if ( array_key_exists( $key, $source ) ) {
				return $source[ $key ];
			}
		}
		return null;
	}
}

function register_rest_route( $route_namespace, $route, $args = array(), $override = false ) {
	BD::$routes[ '/' . trim( $route_namespace, '/' ) . '/' . trim( $route, '/' ) ] = $args;
	return true;
}

function rest_get_url_prefix() {
	return apply_filters( 'rest_url_prefix', 'wp-json' );
}

function rest_ensure_response( $response ) {
	if ( $response instanceof WP_Error || $response instanceof WP_REST_Response ) {
		return $response;
	}
	return new WP_REST_Response( $response );
}

function rest_authorization_required_code() {
	return is_user_logged_in() ? 403 : 401;
}

/** Dispatches like WP_REST_Server: permission callback first, then the endpoint's callback. */
function bd_rest_dispatch( WP_REST_Request $request ) {
	$endpoints = BD::$routes[ $request->get_route() ] ?? null;
	if ( null === $endpoints ) {
		return new WP_Error( 'rest_no_route', 'No route was found matching the URL and request method.', array( 'status' => 404 ) );
	}
	foreach ( $endpoints as $endpoint ) {
		if ( ! in_array( $request->get_method(), array_map( 'trim', explode( ',', $endpoint['methods'] ) ), true ) ) {
			continue;
		}
		$allowed = call_user_func( $endpoint['permission_callback'], $request );
		if ( is_wp_error( $allowed ) ) {
			return $allowed;
		}
		if ( true !== $allowed ) {
			return new WP_Error( 'rest_forbidden', 'Sorry, you are not allowed to do that.', array( 'status' => rest_authorization_required_code() ) );
		}
		return rest_ensure_response( call_user_func( $endpoint['callback'], $request ) );
	}
	return new WP_Error( 'rest_no_route', 'No route was found matching the URL and request method.', array( 'status' => 404 ) );
}

// ---------------------------------------------------------------- the network: never

function bd_forbidden_call( string $function ) {
	BD::$http_calls[] = $function;
	throw new BD_Forbidden_Call( "$function() called: the plugin must make no external requests" );
}

foreach ( array( 'wp_remote_get', 'wp_remote_post', 'wp_remote_head', 'wp_remote_request', 'wp_safe_remote_get', 'wp_safe_remote_post', 'wp_safe_remote_head', 'wp_safe_remote_request', 'download_url', 'wp_http_validate_url', 'wp_oembed_get', 'fetch_feed' ) as $bd_function ) {
	eval( "function $bd_function( ...\$args ) { bd_forbidden_call( '$bd_function' ); }" ); // phpcs:ignore Squiz.PHP.Eval
}
unset( $bd_function );

final class WP_Http {
	public function request( ...$args ) {
		bd_forbidden_call( 'WP_Http::request' );
	}
}

require __DIR__ . '/woocommerce-stubs.php';
