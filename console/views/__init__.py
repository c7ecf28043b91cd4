"""The console's pages, one module per part (listing, customer, lifecycle, …)."""
