"""Application and expert records: their schema (DESIGN §10) and the validation that refuses malformed input."""

from web.records.taxonomy import default_field_names
from web.records.validate import validate_applications, validate_experts, validate_records

__all__ = ["default_field_names", "validate_applications", "validate_experts", "validate_records"]
