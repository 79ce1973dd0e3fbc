"""The storefront: the page a shopper is shown (experiences, rails, greeting, guide, nearby stores)."""
