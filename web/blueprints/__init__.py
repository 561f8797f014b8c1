"""HTTP areas of the application, one blueprint package each."""
