"""Work orders: a citizen's request carried from intake to closure (lifecycle, numbers, deadlines)."""
