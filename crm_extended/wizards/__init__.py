from . import crm_sfa_done_wizard
from . import crm_plan_week_wizard
from . import crm_call_outcome_wizard
