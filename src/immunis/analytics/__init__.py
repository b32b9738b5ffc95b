"""Programme intelligence: vaccination coverage, timeliness, drop-out and zero-dose children."""
