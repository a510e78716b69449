"""The PDF view and the client of the render process."""
