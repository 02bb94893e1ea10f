# cmake -DBINARY=path -P check_no_cuda.cmake: fails when the program's
# dynamic dependencies name a CUDA library (libcudart, libcublas, libcuda).
execute_process(COMMAND ldd ${BINARY} OUTPUT_VARIABLE deps RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ldd ${BINARY} failed (${rc})")
endif()
if(deps MATCHES "libcud|libcublas")
  message(FATAL_ERROR "${BINARY} links CUDA:\n${deps}")
endif()
message(STATUS "${BINARY} links no CUDA library:\n${deps}")
