# frond::mongoc — how the MongoDB and usage exporters link mongo-c-driver.
#
# With FROND_MONGOC_STATIC (the default) the binaries take Debian's static
# libmongoc and libbson, and the C++ code beneath them (ICU, whose only use
# here is SASLprep for SCRAM-SHA-256, and snappy) together with libstdc++,
# from the static archives. The shared libmongoc pulls in libstdc++ and ICU
# at start-up whatever the URI says; linked this way the process never maps
# them, which bench/mongodb measures at 1.6 MiB less RSS per exporter (it
# also lets exporters/common/mongoc_sasl.c run before libmongoc starts). The
# cost is disk: ICU's data archive makes each binary about 33 MB larger, in
# place of the libicu72 package the image no longer needs.
#
# OpenSSL, Cyrus SASL, libmongocrypt and zlib stay shared: they are C, other
# parts of the process or the system use them, and security fixes to them
# should arrive with the distribution's updates.
#
# -DFROND_MONGOC_STATIC=OFF links the shared libmongoc-1.0 through pkg-config,
# for packagers who want every library shared.
option(FROND_MONGOC_STATIC "Link libmongoc, libbson, ICU, snappy and libstdc++ statically" ON)

add_library(frond_mongoc INTERFACE)
add_library(frond::mongoc ALIAS frond_mongoc)

if(NOT FROND_MONGOC_STATIC)
  pkg_check_modules(MONGOC REQUIRED IMPORTED_TARGET libmongoc-1.0)
  target_link_libraries(frond_mongoc INTERFACE PkgConfig::MONGOC)
  return()
endif()

pkg_check_modules(MONGOC_STATIC REQUIRED libmongoc-1.0 libbson-1.0)
# libmongocrypt by name: its .pc file adds -lbson-1.0, and the shared libbson
# must not compete with the static one.
pkg_check_modules(MONGOC_SHARED_DEPS REQUIRED IMPORTED_TARGET libsasl2 libssl libcrypto zlib)
find_library(FROND_MONGOCRYPT_SO NAMES mongocrypt REQUIRED)

# frond_static_archive(VAR name): the full path of lib<name>.a, or a clear
# configure error naming the Debian package that ships it.
function(frond_static_archive var name package)
  find_library(${var} NAMES lib${name}.a)
  if(NOT ${var})
    message(FATAL_ERROR "lib${name}.a not found: install ${package} "
                        "(scripts/deps.sh does), or configure with -DFROND_MONGOC_STATIC=OFF")
  endif()
endfunction()

frond_static_archive(FROND_MONGOC_A mongoc-static-1.0 libmongoc-dev)
frond_static_archive(FROND_BSON_A bson-static-1.0 libbson-dev)
frond_static_archive(FROND_SNAPPY_A snappy libsnappy-dev)
frond_static_archive(FROND_ZSTD_A zstd libzstd-dev)
frond_static_archive(FROND_ICUUC_A icuuc libicu-dev)
frond_static_archive(FROND_ICUDATA_A icudata libicu-dev)

execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libstdc++.a
                OUTPUT_VARIABLE FROND_LIBSTDCXX_A OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT IS_ABSOLUTE "${FROND_LIBSTDCXX_A}")
  message(FATAL_ERROR "libstdc++.a not found: install g++ (build-essential), "
                      "or configure with -DFROND_MONGOC_STATIC=OFF")
endif()

target_include_directories(frond_mongoc SYSTEM INTERFACE ${MONGOC_STATIC_INCLUDE_DIRS})
target_compile_definitions(frond_mongoc INTERFACE MONGOC_STATIC BSON_STATIC)
# Archives in dependency order: libmongoc before what it calls.
target_link_libraries(frond_mongoc INTERFACE
  ${FROND_MONGOC_A} ${FROND_BSON_A}
  ${FROND_MONGOCRYPT_SO} PkgConfig::MONGOC_SHARED_DEPS resolv
  ${FROND_SNAPPY_A} ${FROND_ZSTD_A} ${FROND_ICUUC_A} ${FROND_ICUDATA_A}
  ${FROND_LIBSTDCXX_A} m dl Threads::Threads)
# libstdc++'s exception support comes from libgcc_eh, not libgcc_s.so.
target_link_options(frond_mongoc INTERFACE -static-libgcc)
