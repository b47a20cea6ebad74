<?php
/**
 * The estimated ship date Backorder Desk stores on a product or variation.
 *
 * @package Backorder_Desk
 */

defined( 'ABSPATH' ) || exit;

/**
 * One promised ship date, read from the `_backorder_desk_eta` meta the app writes.
 *
 * The app writes JSON: {"promise": "YYYY-MM-DD", "earliest": …, "likely": …, "latest": …,
 * "label": "Ships by 15 Dec 2026", "updated_at": "…Z"}, and deletes the meta when the item is no
 * longer sold on backorder. Only `promise` is shown: it is the date the shop stands behind.
 * `label` is the app's English text and is not used, so the words and the date follow the site's
 * own language and date format.
 */
final class Backorder_Desk_Eta {

	/**
	 * Meta key on products and variations (JSON) and on order line items (the ISO date).
	 */
	const META_KEY = '_backorder_desk_eta';

	/**
	 * The promised date, YYYY-MM-DD.
	 *
	 * @var string
	 */
	private $promise;

	/**
	 * Use from_meta() or for_product(): they validate the date.
	 *
	 * @param string $promise A valid YYYY-MM-DD date.
	 */
	private function __construct( string $promise ) {
		$this->promise = $promise;
	}

	/**
	 * Reads a stored value. Anything that is not a valid promise gives null, never an error:
	 * a shopper must never see a broken page because of a bad meta value.
	 *
	 * @param mixed $raw The meta value: a JSON string, or an array when the value was stored as an
	 *                   object through the REST API (WordPress serializes arrays).
	 * @return Backorder_Desk_Eta|null
	 */
	public static function from_meta( $raw ) {
		if ( is_string( $raw ) ) {
			$raw = trim( $raw );
			if ( '' === $raw ) {
				return null;
			}
			$data = json_decode( $raw, true );
		} elseif ( is_object( $raw ) ) {
			$data = get_object_vars( $raw );
		} else {
			$data = $raw;
		}

		if ( ! is_array( $data ) || ! isset( $data['promise'] ) || ! is_string( $data['promise'] ) ) {
			return null;
		}
		if ( ! self::is_iso_date( $data['promise'] ) ) {
			return null;
		}
		return new self( $data['promise'] );
	}

	/**
	 * The ETA of a product or variation, or null when it has none.
	 *
	 * A variation whose stock is managed by its parent product shares the parent's stock, so it
	 * falls back to the parent's meta when it has none of its own.
	 *
	 * @param WC_Product $product Product or variation.
	 * @return Backorder_Desk_Eta|null
	 */
	public static function for_product( $product ) {
		$eta = self::from_meta( $product->get_meta( self::META_KEY, true ) );
		if ( null !== $eta ) {
			return $eta;
		}

		$parent_id = (int) $product->get_parent_id();
		if ( $parent_id > 0 && (int) $product->get_stock_managed_by_id() === $parent_id ) {
			return self::from_meta( get_post_meta( $parent_id, self::META_KEY, true ) );
		}
		return null;
	}

	/**
	 * Whether a string is a real calendar date written YYYY-MM-DD.
	 *
	 * @param string $value Candidate date.
	 * @return bool
	 */
	public static function is_iso_date( string $value ) {
		if ( ! preg_match( '/^(\d{4})-(\d{2})-(\d{2})$/', $value, $parts ) ) {
			return false;
		}
		return (int) $parts[1] >= 2000 && checkdate( (int) $parts[2], (int) $parts[3], (int) $parts[1] );
	}

	/**
	 * The promised date, YYYY-MM-DD.
	 *
	 * @return string
	 */
	public function promise() {
		return $this->promise;
	}

	/**
	 * Whether the promise is today or later in the shop's time zone. A date that has passed is
	 * not shown: the app writes a fresh one, and until it does, saying nothing beats a wrong date.
	 *
	 * @return bool
	 */
	public function is_current() {
		return $this->promise >= wp_date( 'Y-m-d' );
	}

	/**
	 * The promise as the site writes dates, e.g. "December 15, 2026" or "15 grudnia 2026".
	 *
	 * @return string Plain text (not escaped).
	 */
	public function formatted_promise() {
		return self::format_date( $this->promise );
	}

	/**
	 * Formats a YYYY-MM-DD date with the site's date format and locale (wp_date).
	 *
	 * The date is turned into midnight UTC and formatted in UTC: a date has no time of day, and
	 * formatting it in the shop's time zone is how "15 December" becomes "14 December" west of
	 * Greenwich.
	 *
	 * @param string $iso A valid YYYY-MM-DD date.
	 * @return string Plain text (not escaped).
	 */
	public static function format_date( string $iso ) {
		$format = get_option( 'date_format' );
		if ( ! is_string( $format ) || '' === $format ) {
			$format = 'F j, Y';
		}
		/**
		 * Filters the date format of the estimated ship date (PHP date() characters).
		 *
		 * @since 0.1.0
		 *
		 * @param string $format The site's date format.
		 */
		$format = (string) apply_filters( 'backorder_desk_date_format', $format );

		$utc  = new DateTimeZone( 'UTC' );
		$date = DateTimeImmutable::createFromFormat( '!Y-m-d', $iso, $utc );
		if ( false === $date ) {
			return '';
		}
		return (string) wp_date( $format, $date->getTimestamp(), $utc );
	}
}
