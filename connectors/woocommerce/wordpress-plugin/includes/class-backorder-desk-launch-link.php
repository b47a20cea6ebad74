<?php
/**
 * The signed link that opens Backorder Desk's admin for this shop.
 *
 * @package Backorder_Desk
 */

defined( 'ABSPATH' ) || exit;

/**
 * APP_URL/admin/launch/woocommerce?store=…&user=…&ts=…&nonce=…&sig=…
 *
 * sig is the hex HMAC-SHA256, keyed with the shop's launch secret, of "store|user|ts|nonce"
 * (the values exactly as they appear in the query once decoded). Only store can contain a "|";
 * the other three are digits or hex, so the message reads unambiguously from the right.
 * A link is made on each click, with the current time and a new random nonce; the app decides how
 * long one stays valid and refuses a nonce it has seen.
 */
final class Backorder_Desk_Launch_Link {

	const PATH = '/admin/launch/woocommerce';

	/**
	 * A fresh link for the current user, or null when the shop is not connected.
	 *
	 * @return string|null
	 */
	public static function for_current_user() {
		if ( ! Backorder_Desk_Settings::is_configured() ) {
			return null;
		}
		return self::build(
			Backorder_Desk_Settings::normalize_app_url( Backorder_Desk_Settings::app_url() ),
			Backorder_Desk_Settings::launch_secret(),
			home_url(),
			get_current_user_id(),
			time(),
			self::new_nonce()
		);
	}

	/**
	 * Builds a link. Pure: the same arguments give the same link.
	 *
	 * @param string $app_url App base URL, no trailing slash.
	 * @param string $secret  Launch secret.
	 * @param string $store   The shop's home_url().
	 * @param int    $user_id WordPress user id of the merchant who clicked.
	 * @param int    $ts      Unix time of the click.
	 * @param string $nonce   Random, hex.
	 * @return string
	 */
	public static function build( string $app_url, string $secret, string $store, int $user_id, int $ts, string $nonce ) {
		$query = http_build_query(
			array(
				'store' => $store,
				'user'  => (string) $user_id,
				'ts'    => (string) $ts,
				'nonce' => $nonce,
				'sig'   => self::sign( $secret, $store, $user_id, $ts, $nonce ),
			),
			'',
			'&',
			PHP_QUERY_RFC3986
		);
		return rtrim( $app_url, '/' ) . self::PATH . '?' . $query;
	}

	/**
	 * The hex HMAC-SHA256 of "store|user|ts|nonce".
	 *
	 * @param string $secret  Launch secret.
	 * @param string $store   The shop's home_url().
	 * @param int    $user_id WordPress user id.
	 * @param int    $ts      Unix time.
	 * @param string $nonce   Random, hex.
	 * @return string 64 lower-case hex digits.
	 */
	public static function sign( string $secret, string $store, int $user_id, int $ts, string $nonce ) {
		return hash_hmac( 'sha256', implode( '|', array( $store, (string) $user_id, (string) $ts, $nonce ) ), $secret );
	}

	/**
	 * 128 random bits, hex.
	 *
	 * @return string
	 */
	public static function new_nonce() {
		return bin2hex( random_bytes( 16 ) );
	}
}
