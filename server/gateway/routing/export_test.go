package routing

// Compiles returns how many stages Compile compiled for t, as opposed to
// carried over unchanged from the previous table.
func (t *Table) Compiles() int { return t.compiles }
