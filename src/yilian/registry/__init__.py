"""Registry: divisions, institutions, consortia, grids, departments, practitioners."""
