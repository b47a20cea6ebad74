<?php
/**
 * The REST route the app's connect flow uses to store its URL and the launch secret.
 *
 * @package Backorder_Desk
 */

defined( 'ABSPATH' ) || exit;

/**
 * /wp-json/backorder-desk/v1/settings
 *
 * POST {app_url, launch_secret} stores both; GET says whether the shop is connected (never the
 * secret); DELETE forgets both. Every method needs manage_woocommerce. The app calls it with the
 * consumer key and secret WooCommerce issued it (/wc-auth, read_write).
 */
final class Backorder_Desk_Rest {

	const ROUTE_NAMESPACE = 'backorder-desk/v1';
	const ROUTE           = '/settings';

	/**
	 * Action rest_api_init.
	 */
	public static function register_routes() {
		register_rest_route(
			self::ROUTE_NAMESPACE,
			self::ROUTE,
			array(
				array(
					'methods'             => WP_REST_Server::CREATABLE,
					'callback'            => array( self::class, 'update_settings' ),
					'permission_callback' => array( self::class, 'can_manage' ),
					'args'                => array(
						'app_url'       => array(
							'description' => __( 'Base URL of Backorder Desk (https).', 'backorder-desk' ),
							'type'        => 'string',
							'required'    => true,
						),
						'launch_secret' => array(
							'description' => __( 'Secret that signs the links opening Backorder Desk from this store.', 'backorder-desk' ),
							'type'        => 'string',
							'required'    => true,
						),
					),
				),
				array(
					'methods'             => WP_REST_Server::READABLE,
					'callback'            => array( self::class, 'get_settings' ),
					'permission_callback' => array( self::class, 'can_manage' ),
				),
				array(
					'methods'             => WP_REST_Server::DELETABLE,
					'callback'            => array( self::class, 'delete_settings' ),
					'permission_callback' => array( self::class, 'can_manage' ),
				),
			)
		);
	}

	/**
	 * Permission callback: the authenticated user (for the app: the owner of its API key) must be
	 * able to manage WooCommerce. WooCommerce itself refuses a read-only key for POST and DELETE.
	 *
	 * @return bool|WP_Error
	 */
	public static function can_manage() {
		if ( current_user_can( 'manage_woocommerce' ) ) {
			return true;
		}
		return new WP_Error(
			'backorder_desk_forbidden',
			__( 'Sorry, you are not allowed to change Backorder Desk settings.', 'backorder-desk' ),
			array( 'status' => rest_authorization_required_code() )
		);
	}

	/**
	 * POST: validates and stores app_url and launch_secret.
	 *
	 * Both are read from the request body (JSON or form) only, never the query string: a secret
	 * in a URL ends up in access logs.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function update_settings( $request ) {
		$body = $request->get_json_params();
		if ( ! is_array( $body ) || array() === $body ) {
			$body = $request->get_body_params();
		}
		$body = is_array( $body ) ? $body : array();

		$app_url = Backorder_Desk_Settings::normalize_app_url( $body['app_url'] ?? null );
		if ( is_wp_error( $app_url ) ) {
			return $app_url;
		}
		$secret = $body['launch_secret'] ?? null;
		$valid  = Backorder_Desk_Settings::check_secret( $secret );
		if ( is_wp_error( $valid ) ) {
			return $valid;
		}

		Backorder_Desk_Settings::save( $app_url, $secret );
		return rest_ensure_response( self::state() );
	}

	/**
	 * GET: whether the shop is connected, and to which app.
	 *
	 * @return WP_REST_Response
	 */
	public static function get_settings() {
		return rest_ensure_response( self::state() );
	}

	/**
	 * DELETE: forgets the app URL and the secret (the app calls it when disconnecting).
	 *
	 * @return WP_REST_Response
	 */
	public static function delete_settings() {
		Backorder_Desk_Settings::clear();
		return rest_ensure_response( self::state() );
	}

	/**
	 * Filter woocommerce_rest_is_request_to_rest_api: lets WooCommerce authenticate API keys for
	 * this one route.
	 *
	 * WooCommerce reads consumer keys only for routes in its own namespaces ("wc/…", "wc-…") unless
	 * this filter says otherwise; without it the app's key would never be read here and every call
	 * would fail with 401. The answer is yes only when the request URI names exactly this route,
	 * never for a pattern, so keys stay out of every other plugin's routes.
	 *
	 * @param bool $is_request_to_rest_api WooCommerce's own answer.
	 * @return bool
	 */
	public static function allow_api_keys( $is_request_to_rest_api ) {
		if ( $is_request_to_rest_api ) {
			return $is_request_to_rest_api;
		}
		return trim( self::ROUTE_NAMESPACE . self::ROUTE, '/' ) === self::route_from_request_uri();
	}

	/**
	 * The REST route the request URI names ("backorder-desk/v1/settings"), or '' for none.
	 * Pretty permalinks (/wp-json/…, also below a subdirectory and after index.php) and plain ones
	 * (?rest_route=/…), read the way WordPress routes them.
	 *
	 * @return string
	 */
	private static function route_from_request_uri() {
		if ( empty( $_SERVER['REQUEST_URI'] ) || ! is_string( $_SERVER['REQUEST_URI'] ) ) {
			return '';
		}
		// Compared with a constant only, never stored or printed.
		$uri = wp_unslash( $_SERVER['REQUEST_URI'] ); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized
		if ( str_starts_with( $uri, '//' ) ) {
			$uri = '/' . ltrim( $uri, '/' );
		}

		$query = wp_parse_url( $uri, PHP_URL_QUERY );
		if ( is_string( $query ) ) {
			parse_str( $query, $params );
			if ( isset( $params['rest_route'] ) && is_string( $params['rest_route'] ) ) {
				return trim( $params['rest_route'], '/' );
			}
		}

		$path = wp_parse_url( $uri, PHP_URL_PATH );
		if ( ! is_string( $path ) ) {
			return '';
		}
		$path      = trim( $path, '/' );
		$home_path = wp_parse_url( home_url(), PHP_URL_PATH );
		if ( is_string( $home_path ) && '' !== trim( $home_path, '/' ) ) {
			$home_path = trim( $home_path, '/' );
			if ( 0 === stripos( $path, $home_path . '/' ) ) {
				$path = substr( $path, strlen( $home_path ) + 1 );
			}
		}
		if ( str_starts_with( $path, 'index.php/' ) ) {
			$path = substr( $path, strlen( 'index.php/' ) );
		}

		$prefix = trim( rest_get_url_prefix(), '/' ) . '/';
		if ( ! str_starts_with( $path, $prefix ) ) {
			return '';
		}
		return trim( substr( $path, strlen( $prefix ) ), '/' );
	}

	/**
	 * What GET, POST and DELETE answer. Never includes the secret.
	 *
	 * @return array
	 */
	private static function state() {
		$connected = Backorder_Desk_Settings::is_configured();
		return array(
			'connected'      => $connected,
			'app_url'        => $connected ? Backorder_Desk_Settings::app_url() : null,
			'plugin_version' => BACKORDER_DESK_VERSION,
		);
	}
}
