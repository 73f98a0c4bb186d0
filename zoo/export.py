def card(*a): return {}
def export(*a): pass
