"""Partner agencies' deliveries: dataset contracts (YAML), the door that lands, screens and
checks each file, API fetchers, and the assets and sensors that run it per drop folder."""
