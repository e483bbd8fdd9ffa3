"""The host agent: programs VFs through a driver (netlink or fake), keeps their original
settings in a durable state file, and reconciles the controller's desired state with what
the device reports back."""
