"""Where and how big a run is: devices and repeatability, profiles, crash-safe file writes."""
