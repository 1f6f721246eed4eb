# The shipper sources that frondtail's unit tests and fuzz targets compile in
# directly, named once: tests/unit/shipper_*.cmake and
# tests/fuzz/shipper_*.cmake include this file (in whichever order the glob
# in tests/CMakeLists.txt reaches them), so a file split out of one of these
# sources is added here and nowhere else.
set(FT_DIR ${CMAKE_SOURCE_DIR}/shipper)
# The config loader and what it compiles relabel rules with.
set(FT_CONFIG_SOURCES ${FT_DIR}/config.c ${FT_DIR}/config_client.c ${FT_DIR}/config_scrape.c
    ${FT_DIR}/relabel.c ${FT_DIR}/regex.c ${FT_DIR}/labels.c ${FT_DIR}/readfile.c)
set(FT_POSITIONS_SOURCES ${FT_DIR}/positions.c ${FT_DIR}/readfile.c)
# The Kubernetes pod cache and the label sets it fills.
set(FT_K8S_SOURCES ${FT_DIR}/k8s_cache.c ${FT_DIR}/labels.c)
