"""What shoppers see: storefront ETAs and the backorder landing page (platform-neutral views)."""
