"""mockdb - the parts of tests/support/mongo_mock.py, split by concept."""
