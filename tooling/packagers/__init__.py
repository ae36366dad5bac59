"""Package-manager channels: one module per channel behind one interface (base.Channel), listed in registry."""
