"""Optional third-party integrations behind small interfaces, each with a working offline default."""
