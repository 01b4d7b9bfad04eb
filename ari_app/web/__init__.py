"""HTTP plumbing shared by every domain's routes: input checking and JSON errors."""
