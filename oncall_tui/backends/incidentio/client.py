"""incident.io client: the whole client (every area below), with the capability probe."""

from __future__ import annotations

from oncall_tui.backends.http import (
    ApiError,
    InvalidRequest,
    NotFound,
)
from oncall_tui.backends.incidentio.capabilities import (
    _PROBE_INCIDENT_ID,
    CAP_TIMELINE_ITEMS,
    Capabilities,
)
from oncall_tui.backends.incidentio.errors import log
from oncall_tui.backends.incidentio.escalations import EscalationsApi
from oncall_tui.backends.incidentio.incidents import IncidentsApi
from oncall_tui.backends.incidentio.rota import RotaApi


class IncidentIoClient(RotaApi, EscalationsApi, IncidentsApi):
    """incident.io REST API, typed. See the module docstring."""

    async def probe_capabilities(self) -> Capabilities:
        """What this key on this server can do, per dashboard action.

        Reads the key's roles, and probes the newer timeline endpoint with a GET for an
        incident that does not exist: incident.io's JSON 404 means the route is there,
        anything else (a router's 404 or 405) means it is not. The other newer endpoints
        are writes with no harmless probe, so they stay "unknown" until first used.
        """
        self.unavailable.clear()
        self.known_available.clear()
        identity = await self.identity()
        await self._probe_timeline()
        self.capabilities = self._build_capabilities(identity)
        return self.capabilities

    async def _probe_timeline(self) -> None:
        if CAP_TIMELINE_ITEMS in self.known_available | self.unavailable:
            return
        query = [("incident_id", _PROBE_INCIDENT_ID), ("page_size", "1")]
        try:
            await self.request("GET", "/v2/incident_timeline_items", params=query)
        except NotFound as err:
            if err.type is None or err.request_id is None:
                self.unavailable.add(CAP_TIMELINE_ITEMS)
            else:
                self.known_available.add(CAP_TIMELINE_ITEMS)
        except InvalidRequest as err:
            # 405: the path exists for other methods only; 400/422: validation ran.
            if err.status == 405:
                self.unavailable.add(CAP_TIMELINE_ITEMS)
            else:
                self.known_available.add(CAP_TIMELINE_ITEMS)
        except ApiError as err:
            log.info("incident.io timeline probe was inconclusive: %s", err)
        else:
            self.known_available.add(CAP_TIMELINE_ITEMS)
