"""Reading exports and files, parsing numbers and dates, the seeded sample generator: may import core."""
