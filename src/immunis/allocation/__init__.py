"""Fair allocation of scarce vaccine between provinces and priority groups."""
