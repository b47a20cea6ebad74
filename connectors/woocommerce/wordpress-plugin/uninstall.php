<?php
/**
 * Deleting the plugin forgets the app URL and the launch secret. ETAs the app wrote into product
 * and order meta stay: they belong to the shop's records, and the app removes product ETAs itself.
 *
 * @package Backorder_Desk
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'backorder_desk_app_url' );
delete_option( 'backorder_desk_launch_secret' );
