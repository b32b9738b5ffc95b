"""Online booking: a site's opening hours, vaccines and clinic sessions, and appointments."""
