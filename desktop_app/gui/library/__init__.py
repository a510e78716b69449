"""The library: installed packs and documents, importing, updates, catalogues, publisher keys."""
