<?php
/**
 * The two values the app's connect flow stores in the shop: its URL and the launch secret.
 *
 * @package Backorder_Desk
 */

defined( 'ABSPATH' ) || exit;

/**
 * Reads, validates and writes the options `backorder_desk_app_url` and
 * `backorder_desk_launch_secret`. Both are stored without autoload: only the Backorders menu
 * item reads them, never a shopper's page view.
 */
final class Backorder_Desk_Settings {

	const APP_URL_OPTION = 'backorder_desk_app_url';
	const SECRET_OPTION  = 'backorder_desk_launch_secret';

	/**
	 * Shortest launch secret accepted (characters). The app generates it; 32 random characters
	 * (e.g. 16 random bytes in hex) is the least that keeps an HMAC key out of guessing range.
	 */
	const MIN_SECRET_LENGTH = 32;

	/**
	 * Longest launch secret accepted (characters).
	 */
	const MAX_SECRET_LENGTH = 512;

	/**
	 * The stored app URL (no trailing slash), or '' when not connected.
	 *
	 * @return string
	 */
	public static function app_url() {
		$value = get_option( self::APP_URL_OPTION, '' );
		return is_string( $value ) ? $value : '';
	}

	/**
	 * The stored launch secret, or '' when not connected.
	 *
	 * @return string
	 */
	public static function launch_secret() {
		$value = get_option( self::SECRET_OPTION, '' );
		return is_string( $value ) ? $value : '';
	}

	/**
	 * Whether both values are present and valid, so a launch link can be made.
	 *
	 * @return bool
	 */
	public static function is_configured() {
		return ! is_wp_error( self::normalize_app_url( self::app_url() ) )
			&& ! is_wp_error( self::check_secret( self::launch_secret() ) );
	}

	/**
	 * Stores both values.
	 *
	 * @param string $app_url A URL normalize_app_url() returned.
	 * @param string $secret  A secret check_secret() accepted.
	 */
	public static function save( string $app_url, string $secret ) {
		update_option( self::APP_URL_OPTION, $app_url, false );
		update_option( self::SECRET_OPTION, $secret, false );
	}

	/**
	 * Forgets both values (disconnect).
	 */
	public static function clear() {
		delete_option( self::APP_URL_OPTION );
		delete_option( self::SECRET_OPTION );
	}

	/**
	 * The app's base URL as stored: https (http only for a loopback host or a site whose
	 * environment type is local or development), no credentials, query or fragment, no trailing
	 * slash. A path is kept (the app may live under one).
	 *
	 * @param mixed $url Candidate URL.
	 * @return string|WP_Error
	 */
	public static function normalize_app_url( $url ) {
		$invalid = new WP_Error(
			'backorder_desk_invalid_app_url',
			__( 'app_url must be the https address of Backorder Desk, without a query string.', 'backorder-desk' ),
			array( 'status' => 400 )
		);
		if ( ! is_string( $url ) || '' === trim( $url ) || strlen( $url ) > 2048 || preg_match( '/[\s\x00-\x1f\x7f]/', $url ) ) {
			return $invalid;
		}
		$parts = wp_parse_url( trim( $url ) );
		if ( ! is_array( $parts ) || empty( $parts['scheme'] ) || empty( $parts['host'] ) ) {
			return $invalid;
		}
		if ( isset( $parts['user'] ) || isset( $parts['pass'] ) || isset( $parts['query'] ) || isset( $parts['fragment'] ) ) {
			return $invalid;
		}

		$scheme = strtolower( $parts['scheme'] );
		$host   = strtolower( $parts['host'] );
		if ( 'https' !== $scheme && ! ( 'http' === $scheme && self::may_use_plain_http( $host ) ) ) {
			return $invalid;
		}

		$normalized = $scheme . '://' . $host;
		if ( isset( $parts['port'] ) ) {
			$normalized .= ':' . (int) $parts['port'];
		}
		if ( isset( $parts['path'] ) ) {
			$normalized .= rtrim( $parts['path'], '/' );
		}
		return $normalized;
	}

	/**
	 * Accepts a launch secret of printable ASCII without spaces, of a sensible length.
	 *
	 * @param mixed $secret Candidate secret.
	 * @return bool|WP_Error True when acceptable.
	 */
	public static function check_secret( $secret ) {
		$pattern = sprintf( '/^[\x21-\x7e]{%d,%d}$/', self::MIN_SECRET_LENGTH, self::MAX_SECRET_LENGTH );
		if ( is_string( $secret ) && preg_match( $pattern, $secret ) ) {
			return true;
		}
		return new WP_Error(
			'backorder_desk_invalid_launch_secret',
			sprintf(
				/* translators: 1: shortest length, 2: longest length */
				__( 'launch_secret must be %1$d to %2$d printable characters without spaces.', 'backorder-desk' ),
				self::MIN_SECRET_LENGTH,
				self::MAX_SECRET_LENGTH
			),
			array( 'status' => 400 )
		);
	}

	/**
	 * Plain http is fine for an app on this machine or on a development site, nowhere else: the
	 * launch link carries a signature that must not cross a network in clear text.
	 *
	 * @param string $host Lower-case host name.
	 * @return bool
	 */
	private static function may_use_plain_http( string $host ) {
		if ( in_array( $host, array( 'localhost', '[::1]' ), true ) || str_ends_with( $host, '.localhost' ) ) {
			return true;
		}
		if ( preg_match( '/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/', $host ) ) {
			return true;
		}
		return in_array( wp_get_environment_type(), array( 'local', 'development' ), true );
	}
}
