import sys
from pathlib import Path

# Let tests import op_check, the op-checking module they share.
sys.path.insert(0, str(Path(__file__).parent))
