"""WooCommerce connector: the /wc-auth connect flow, REST client, webhook verification and the
WordPress companion plugin. It implements connectors.base.Connector and is registered in
connectors/registry.py when it lands (issue 6); until then the registry knows only Shopify."""
