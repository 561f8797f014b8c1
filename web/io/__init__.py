"""Record files: readers and writers for .xlsx, .csv and .json, their layout and the Excel import templates."""

from web.io.files import FORMATS, ReadResult, read_bytes, read_records, write_records

__all__ = ["FORMATS", "ReadResult", "read_bytes", "read_records", "write_records"]
