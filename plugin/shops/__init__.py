"""Shops: install, uninstall and look-up of the stores the app serves, on any platform."""
