"""Coverage-gap analysis: workers per workplace, medical access, lunch supply (2SFCA).

Pure over arrays: the adapter in :mod:`layers.gaps.service` loads the workplaces, official
employment and facility layers and calls these modules.
"""
