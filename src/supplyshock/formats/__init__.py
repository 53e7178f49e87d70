"""Reading and writing files into domain objects, with validation."""
