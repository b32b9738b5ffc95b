"""Where vaccination happens: sites and the organisations they belong to.

Any authenticated user may read them (they hold no personal data); only an administrator may
create or change them, and those changes are written to the audit log.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from immunis.access.policy import Action, Actor
from immunis.access.service import audit, require
from immunis.errors import Conflict, InvalidInput, NotFound
from immunis.registry.models import Organization, Site
from immunis.registry.schemas import Address, OrganizationIn, OrganizationOut, SiteIn, SiteOut

MAX_RESULTS = 200


def site_out(site: Site) -> SiteOut:
    address = None
    if any((site.address_line, site.province_code, site.district_code, site.commune_code)):
        address = Address(
            line=site.address_line,
            province_code=site.province_code,
            district_code=site.district_code,
            commune_code=site.commune_code,
        )
    return SiteOut(
        id=site.id,
        code=site.code,
        name=site.name,
        organization_id=site.organization_id,
        kind=site.kind,
        address=address,
        active=site.active,
    )


def organization_out(organization: Organization) -> OrganizationOut:
    return OrganizationOut(
        id=organization.id,
        code=organization.code,
        name=organization.name,
        kind=organization.kind,  # type: ignore[arg-type]
        parent_id=organization.parent_id,
    )


def _load_site(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"no site {site_id}")
    return site


def _load_organization(session: Session, organization_id: str) -> Organization:
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(f"no organization {organization_id}")
    return organization


def get_site(session: Session, actor: Actor, site_id: str) -> SiteOut:
    """One site; any authenticated actor may read it."""
    return site_out(_load_site(session, site_id))


def search_sites(
    session: Session,
    actor: Actor,
    *,
    code: str | None = None,
    name: str | None = None,
    organization_id: str | None = None,
    limit: int = 50,
) -> list[SiteOut]:
    """Sites matching every criterion given (all sites when none is), by code."""
    query = select(Site)
    if code:
        query = query.where(Site.code == code)
    if name:
        query = query.where(Site.name.icontains(name, autoescape=True))
    if organization_id:
        query = query.where(Site.organization_id == organization_id)
    query = query.order_by(Site.code).limit(min(limit, MAX_RESULTS))
    return [site_out(s) for s in session.scalars(query)]


def _apply_site(session: Session, site: Site, data: SiteIn) -> None:
    clash = session.scalars(select(Site.id).where(Site.code == data.code, Site.id != site.id))
    if clash.first():
        raise Conflict(f"site code {data.code} is in use")
    if data.organization_id and session.get(Organization, data.organization_id) is None:
        raise InvalidInput(f"no organization {data.organization_id}")
    address = data.address or Address()
    site.code = data.code
    site.name = data.name
    site.organization_id = data.organization_id
    site.kind = data.kind
    site.address_line = address.line
    site.province_code = address.province_code
    site.district_code = address.district_code
    site.commune_code = address.commune_code
    site.active = data.active


def create_site(session: Session, actor: Actor, data: SiteIn) -> SiteOut:
    """Register a site (administrators only)."""
    require(actor, Action.MANAGE, "site")
    site = Site()
    _apply_site(session, site, data)
    session.add(site)
    session.flush()
    audit(session, actor, "create", "site", site.id)
    return site_out(site)


def update_site(session: Session, actor: Actor, site_id: str, data: SiteIn) -> SiteOut:
    """Replace a site's details (administrators only)."""
    require(actor, Action.MANAGE, "site")
    site = _load_site(session, site_id)
    _apply_site(session, site, data)
    session.flush()
    audit(session, actor, "update", "site", site.id)
    return site_out(site)


def get_organization(session: Session, actor: Actor, organization_id: str) -> OrganizationOut:
    """One organisation; any authenticated actor may read it."""
    return organization_out(_load_organization(session, organization_id))


def search_organizations(
    session: Session,
    actor: Actor,
    *,
    code: str | None = None,
    name: str | None = None,
    parent_id: str | None = None,
    limit: int = 50,
) -> list[OrganizationOut]:
    """Organisations matching every criterion given (all when none is), by code."""
    query = select(Organization)
    if code:
        query = query.where(Organization.code == code)
    if name:
        query = query.where(Organization.name.icontains(name, autoescape=True))
    if parent_id:
        query = query.where(Organization.parent_id == parent_id)
    query = query.order_by(Organization.code).limit(min(limit, MAX_RESULTS))
    return [organization_out(o) for o in session.scalars(query)]


def _apply_organization(session: Session, organization: Organization, data: OrganizationIn) -> None:
    clash = session.scalars(
        select(Organization.id).where(
            Organization.code == data.code, Organization.id != organization.id
        )
    )
    if clash.first():
        raise Conflict(f"organization code {data.code} is in use")
    parent_id = data.parent_id
    # Walk up from the new parent: reaching this organisation would make a cycle.
    while parent_id is not None:
        if parent_id == organization.id:
            raise InvalidInput("an organization cannot be part of itself")
        parent = session.get(Organization, parent_id)
        if parent is None:
            raise InvalidInput(f"no organization {parent_id}")
        parent_id = parent.parent_id
    organization.code = data.code
    organization.name = data.name
    organization.kind = data.kind
    organization.parent_id = data.parent_id


def create_organization(session: Session, actor: Actor, data: OrganizationIn) -> OrganizationOut:
    """Register an organisation (administrators only)."""
    require(actor, Action.MANAGE, "organization")
    organization = Organization()
    _apply_organization(session, organization, data)
    session.add(organization)
    session.flush()
    audit(session, actor, "create", "organization", organization.id)
    return organization_out(organization)


def update_organization(
    session: Session, actor: Actor, organization_id: str, data: OrganizationIn
) -> OrganizationOut:
    """Replace an organisation's details (administrators only)."""
    require(actor, Action.MANAGE, "organization")
    organization = _load_organization(session, organization_id)
    _apply_organization(session, organization, data)
    session.flush()
    audit(session, actor, "update", "organization", organization.id)
    return organization_out(organization)
