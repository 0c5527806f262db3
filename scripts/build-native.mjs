// Placeholder: the native build step lands with the addon.
