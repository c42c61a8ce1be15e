"""Virtual carts: event-sourced lines with their evidence."""
