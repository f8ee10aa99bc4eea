"""The data layer: models, engines, migrations and queries. Nothing outside db/ writes SQL."""
