"""Finding organizations by USCC, then by normalized name (DESIGN §6.1), creating the ones not yet known."""

from __future__ import annotations

from sqlalchemy import select

from web.extensions import db
from web.models import Organization, OrganizationAlias


def normalize(name: str) -> str:
    """The matching key of an organization name (matching.organizations does the work)."""
    from matching.organizations import normalize_name

    return normalize_name(name)


class OrganizationResolver:
    """Resolves (name, USCC) pairs to organizations within one transaction, with one query up front.

    A USCC match wins. Without a USCC match, the normalized name (or an alias) matches an organization whose
    USCC is unknown or the same; an organization with another USCC is a different legal entity.
    """

    def __init__(self):
        organizations = db.session.scalars(select(Organization)).all()
        self.by_uscc = {org.uscc: org for org in organizations if org.uscc}
        self.by_name: dict[str, list[Organization]] = {}
        for org in organizations:
            self.by_name.setdefault(org.normalized_name, []).append(org)
        for alias in db.session.scalars(select(OrganizationAlias)):
            self.by_name.setdefault(alias.normalized_name, []).append(alias.organization)

    def resolve(self, name: str | None, uscc: str | None, parent: str | None = None) -> Organization | None:
        """The organization named ``name`` / ``uscc`` (created when new), or None when both are missing."""
        if not name and not uscc:
            return None
        organization = self.by_uscc.get(uscc) if uscc else None
        if organization is None and name:
            organization = self._by_name(name, uscc)
        if organization is None:
            organization = Organization(name=name or uscc, uscc=uscc, normalized_name=normalize(name or uscc))
            db.session.add(organization)
            self.by_name.setdefault(organization.normalized_name, []).append(organization)
        if uscc and organization.uscc is None:
            organization.uscc = uscc
        if uscc:
            self.by_uscc[uscc] = organization
        if parent and organization.parent is None and normalize(parent) != organization.normalized_name:
            organization.parent = self.resolve(parent, None)
        return organization

    def _by_name(self, name: str, uscc: str | None) -> Organization | None:
        """An organization with this normalized name whose USCC does not contradict ``uscc``."""
        for candidate in self.by_name.get(normalize(name), ()):
            if uscc is None or candidate.uscc in (None, uscc):
                return candidate
        return None
