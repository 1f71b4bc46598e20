"""The durable store: engine, tables, migrations, the journal writer, reports. No Flask in here."""
