/* Conduix shared state: what every backend has in common. */
#include "cx_state.h"

const char *cx_state_rc_name(cx_state_rc rc)
{
    switch (rc) {
    case CX_STATE_OK: return "ok";
    case CX_STATE_NOTFOUND: return "not found";
    case CX_STATE_CONFLICT: return "conflict";
    case CX_STATE_TOOBIG: return "too big";
    case CX_STATE_FULL: return "full";
    case CX_STATE_ERROR: return "backend error";
    }
    return "unknown";
}
