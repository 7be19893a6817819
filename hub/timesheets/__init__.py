"""タイムシート: a member's month of attendance beside the man-hours (工数) they booked."""
